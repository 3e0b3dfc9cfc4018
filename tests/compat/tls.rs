//! tokio-rustls over hiver's TCP streams: a TLS server and client, both on hiver, with a
//! self-signed certificate made at test time (rcgen) and ring as the one crypto provider.

use std::sync::Arc;

use hiver_runtime::io::{TcpListener, TcpStream};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::support::{assert_no_fd_leak, drivers, open_fds, pattern, runtime, serial, within};

/// Bytes each side sends: many TLS records (16 KiB of plaintext at most each).
const LEN: usize = 1 << 20;

/// A server and a client configuration that trust each other: the server's certificate is
/// self-signed for `localhost` and is the client's only root.
fn configs() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    // `builder()` takes the process's provider, installed from the crate features: ring is
    // the only one built (rustls would panic if aws-lc-rs were built as well).
    let server = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

#[test]
fn a_tls_handshake_and_bytes_both_ways_over_tcp_streams() {
    let _serial = serial();
    let (server_config, client_config) = configs();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let (server_config, client_config) = (server_config.clone(), client_config.clone());
        rt.block_on(within("tls", async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            // The server reads the client's bytes to the end (its close_notify), then
            // answers with its own and closes.
            let server = hiver_runtime::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let mut tls = TlsAcceptor::from(server_config)
                    .accept(stream)
                    .await
                    .unwrap();
                assert_eq!(tls.get_ref().1.server_name(), Some("localhost"));
                let mut got = Vec::new();
                tls.read_to_end(&mut got).await.unwrap();
                tls.write_all(&pattern(LEN, 2)).await.unwrap();
                tls.shutdown().await.unwrap();
                got
            });

            let stream = TcpStream::connect(addr).await.unwrap();
            let name = ServerName::try_from("localhost").unwrap();
            let mut tls = TlsConnector::from(client_config)
                .connect(name, stream)
                .await
                .unwrap();
            assert_eq!(
                tls.get_ref().1.protocol_version(),
                Some(rustls::ProtocolVersion::TLSv1_3),
                "on {driver}"
            );
            tls.write_all(&pattern(LEN, 1)).await.unwrap();
            tls.shutdown().await.unwrap(); // close_notify: the server's read_to_end ends
            let mut back = Vec::new();
            tls.read_to_end(&mut back).await.unwrap();

            let got = server.await.unwrap();
            assert!(
                got == pattern(LEN, 1),
                "server got {} bytes on {driver}",
                got.len()
            );
            assert!(
                back == pattern(LEN, 2),
                "client got {} bytes on {driver}",
                back.len()
            );
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}
