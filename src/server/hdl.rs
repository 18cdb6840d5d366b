//! The Handle protocol listeners, and this node's `HS_SITE` published on the prefix handles it homes.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;

use crate::config::Config;
use crate::connection::Connections;
use crate::node::Node;
use crate::runtime::Runtime;

/// This node's `HS_SITE`: one server, its public key, a UDP query interface and a TCP interface for queries
/// and administration. The REST port is not listed: an interface of protocol HTTP there would promise Handle
/// messages over HTTP, which CNRI's client then posts.
pub fn own_site(cfg: &Config, udp: SocketAddr, tcp: SocketAddr, public_key: Vec<u8>) -> Vec<u8> {
    use crate::record::site::{Interface, Server, Site};
    Site {
        version: 1,
        major: 2,
        minor: 10,
        serial: cfg.handle.site_serial,
        primary: true,
        multi_primary: false,
        hash_option: 0,
        hash_filter: Vec::new(),
        attributes: vec![(
            "desc".into(),
            format!("idnode {} for {}", env!("CARGO_PKG_VERSION"), cfg.node.prefixes.join(", ")),
        )],
        servers: vec![Server {
            id: 1,
            address: cfg.handle.advertise.unwrap_or(tcp.ip()),
            public_key,
            interfaces: vec![
                Interface { kind: 2, protocol: 0, port: u32::from(udp.port()) },
                Interface { kind: 3, protocol: 1, port: u32::from(tcp.port()) },
            ],
        }],
    }
    .encode()
}

/// Binds the Handle protocol listeners, publishes the site on the homed prefix handles, and serves.
pub(super) async fn serve(
    cfg: &Config,
    node: Arc<Node>,
    runtime: Runtime,
    connections: &Arc<Connections>,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, SocketAddr)> {
    use crate::hdl::{Responder, server as hdl};
    let h = &cfg.handle;
    let udp = bind_udp(h.listen_udp, super::per_core(h.udp_sockets))
        .with_context(|| format!("binding UDP {}", h.listen_udp))?;
    let tcp =
        tokio::net::TcpListener::bind(h.listen_tcp).await.with_context(|| format!("binding TCP {}", h.listen_tcp))?;
    let (udp_addr, tcp_addr) = (udp[0].local_addr()?, tcp.local_addr()?);
    let key_path = h.node_key.clone().unwrap_or_else(|| cfg.storage.path.join("node-key.pem"));
    let node_key = {
        let path = key_path.clone();
        tokio::task::spawn_blocking(move || crate::hdl::signing::NodeKey::load_or_create(&path)).await??
    };
    let site = own_site(cfg, udp_addr, tcp_addr, node_key.public().encode());
    let n = {
        let (node, site) = (node.clone(), site.clone());
        tokio::task::spawn_blocking(move || node.publish_site(&site)).await??
    };
    tracing::info!(prefix_handles = n, "published HS_SITE");
    let responder = Responder::new(node, site, h.site_serial, runtime)
        .with_challenge_ttl(std::time::Duration::from_secs(h.challenge_ttl_secs))
        .with_node_key(Arc::new(node_key));
    let limits = h.limits()?;
    let admission = crate::request::Admission::new(limits.max_in_flight);
    for socket in udp {
        let socket = crate::hdl::udp::Datagrams::new(socket).context("setting up a UDP socket")?;
        let (responder, limits, admission) = (responder.clone(), limits.clone(), admission.clone());
        tokio::spawn(hdl::serve_udp(socket, responder, limits, admission, connections.clone(), stopped.clone()));
    }
    tokio::spawn(hdl::serve_tcp(tcp, responder, limits, connections.clone(), stopped));
    Ok((udp_addr, tcp_addr))
}

/// Binds `n` UDP sockets to `addr` sharing its port (`SO_REUSEPORT`; with port 0, the port the first one got).
fn bind_udp(addr: SocketAddr, n: usize) -> std::io::Result<Vec<tokio::net::UdpSocket>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let (mut addr, n) = (addr, n.max(1));
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        s.set_reuse_port(true)?;
        s.set_nonblocking(true)?;
        s.bind(&addr.into())?;
        addr = s.local_addr()?.as_socket().unwrap_or(addr);
        sockets.push(tokio::net::UdpSocket::from_std(s.into())?);
    }
    Ok(sockets)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn udp_sockets_share_one_port() {
        let sockets = super::bind_udp("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        let ports: Vec<u16> = sockets.iter().map(|s| s.local_addr().unwrap().port()).collect();
        assert_eq!(ports.len(), 3);
        assert!(ports[0] != 0 && ports.iter().all(|p| *p == ports[0]), "{ports:?}");
        // a datagram to the shared port reaches one of them
        let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.send_to(b"x", ("127.0.0.1", ports[0])).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let mut buf = [0u8; 4];
        let received = sockets.iter().filter(|s| s.try_recv_from(&mut buf).is_ok()).count();
        assert_eq!(received, 1);
    }
}
