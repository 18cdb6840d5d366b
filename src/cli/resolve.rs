//! `idnode resolve`: one resolution over UDP, TCP or HTTP, printed as the REST API's JSON.

use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Printed, ResolveArgs};
use crate::hdl::client::{self, Transport};
use crate::http::json::value_json;

fn address(s: &str) -> anyhow::Result<SocketAddr> {
    s.to_socket_addrs()?.next().with_context(|| format!("cannot resolve {s}"))
}

/// Runs the command and returns the JSON text to print.
pub async fn run(a: &ResolveArgs) -> anyhow::Result<String> {
    if a.http {
        let server = a.server.clone().unwrap_or_else(|| "127.0.0.1:8000".into());
        return http_get(&server, a).await;
    }
    let addr = address(a.server.as_deref().unwrap_or("127.0.0.1:2641"))?;
    let transport = if a.tcp { Transport::Tcp } else { Transport::Udp };
    let r = match client::resolve(addr, transport, &a.handle, &a.index, &a.types, false).await {
        Err(client::ClientError::Truncated) => {
            client::resolve(addr, Transport::Tcp, &a.handle, &a.index, &a.types, false).await?
        }
        other => other?,
    };
    let body = Printed {
        response_code: r.response_code,
        handle: &a.handle,
        message: (r.response_code != 1).then_some(r.message.as_str()),
        values: (r.response_code == 1).then(|| r.values.iter().map(value_json).collect()),
    };
    Ok(serde_json::to_string_pretty(&body)?)
}

async fn http_get(server: &str, a: &ResolveArgs) -> anyhow::Result<String> {
    let addr = address(server)?;
    let mut query: Vec<String> = a.index.iter().map(|i| format!("index={i}")).collect();
    query.extend(
        a.types
            .iter()
            .map(|t| format!("type={}", percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC))),
    );
    let path: String =
        percent_encoding::utf8_percent_encode(&a.handle, percent_encoding::CONTROLS).to_string().replace(' ', "%20");
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let req = format!(
        "GET /api/handles/{path}?pretty&{} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n",
        query.join("&")
    );
    s.write_all(req.as_bytes()).await?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await?;
    let text = String::from_utf8_lossy(&resp);
    let Some((_, body)) = text.split_once("\r\n\r\n") else { bail!("malformed HTTP answer") };
    Ok(body.to_owned())
}
