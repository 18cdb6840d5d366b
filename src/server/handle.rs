//! The Handle protocol listeners, and this node's `HS_SITE` published on the prefix handles it homes.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;

use crate::config::Config;
use crate::node::Node;

/// This node's `HS_SITE`: one server, its UDP and TCP query interfaces and its REST interface.
pub fn own_site(cfg: &Config, udp: SocketAddr, tcp: SocketAddr, http: SocketAddr) -> Vec<u8> {
    use crate::record::site::{Interface, Server, Site};
    let http_protocol = if cfg.http.tls_cert.is_some() { 3 } else { 2 };
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
            public_key: Vec::new(),
            interfaces: vec![
                Interface { kind: 2, protocol: 0, port: u32::from(udp.port()) },
                Interface { kind: 2, protocol: 1, port: u32::from(tcp.port()) },
                Interface { kind: 3, protocol: http_protocol, port: u32::from(http.port()) },
            ],
        }],
    }
    .encode()
}

/// Binds the Handle protocol listeners, publishes the site on the homed prefix handles, and serves.
pub(super) async fn serve_handle(
    cfg: &Config,
    node: Arc<Node>,
    http_addr: SocketAddr,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, SocketAddr)> {
    use crate::hdl::{Responder, server as hdl};
    let h = &cfg.handle;
    let udp =
        tokio::net::UdpSocket::bind(h.listen_udp).await.with_context(|| format!("binding UDP {}", h.listen_udp))?;
    let tcp =
        tokio::net::TcpListener::bind(h.listen_tcp).await.with_context(|| format!("binding TCP {}", h.listen_tcp))?;
    let (udp_addr, tcp_addr) = (udp.local_addr()?, tcp.local_addr()?);
    let site = own_site(cfg, udp_addr, tcp_addr, http_addr);
    let n = {
        let (node, site) = (node.clone(), site.clone());
        tokio::task::spawn_blocking(move || node.publish_site(&site)).await??
    };
    tracing::info!(prefix_handles = n, "published HS_SITE");
    let responder = Responder::new(node, site, h.site_serial);
    let limits = hdl::Limits {
        max_tcp_connections: h.max_tcp_connections,
        tcp_idle_timeout: std::time::Duration::from_secs(h.tcp_idle_timeout_secs),
        max_in_flight: h.max_in_flight,
        udp_max_response_packets: h.udp_max_response_packets,
    };
    let udp = crate::hdl::udp::Datagrams::new(udp).context("setting up the UDP socket")?;
    tokio::spawn(hdl::serve_udp(udp, responder.clone(), limits.clone(), stopped.clone()));
    tokio::spawn(hdl::serve_tcp(tcp, responder, limits, stopped));
    Ok((udp_addr, tcp_addr))
}
