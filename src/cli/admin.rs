//! `idnode admin`: one administrative request over the Handle protocol (TCP or UDP), authenticated by
//! challenge and response with a secret or an RSA private key, and its outcome printed as JSON; and
//! `idnode keygen`, which makes such a key pair.

use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::{Context as _, bail};

use super::{AdminArgs, AdminOp, KeygenArgs, Printed};
use crate::hdl::admin::AdminRequest;
use crate::hdl::client::Transport;
use crate::hdl::client::admin::{Key, Link};
use crate::hdl::codec::{decode_error_message, opflag};
use crate::record::HandleValue;
use crate::record::pubkey::PublicKey;

/// A value `INDEX:TYPE:TEXT`, e.g. `1:URL:https://example.cn/p/1`.
fn parse_value(s: &str) -> anyhow::Result<HandleValue> {
    let mut parts = s.splitn(3, ':');
    let (Some(index), Some(ty), Some(text)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("a value is INDEX:TYPE:TEXT, not {s:?}");
    };
    let index = index.parse().with_context(|| format!("the index of {s:?}"))?;
    Ok(HandleValue::new(index, ty, text.as_bytes(), crate::node::now()))
}

/// The key that proves `--id`: the RSA private key of `--private-key`, or the secret.
fn key(a: &AdminArgs) -> anyhow::Result<Key> {
    let (index, handle) = a.id.split_once(':').context("--id is index:handle, e.g. 300:0.NA/88.798.1")?;
    let index = index.parse().context("the index of --id")?;
    let Some(path) = &a.private_key else { return Ok(Key::secret(handle, index, &secret(a)?)) };
    let pem = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(&pem))
        .with_context(|| format!("{} holds no RSA private key in PEM (PKCS#8 or PKCS#1)", path.display()))?;
    Ok(Key::rsa(handle, index, private))
}

/// The secret key: the file's contents without a trailing newline, or `IDNODE_SECRET`.
fn secret(a: &AdminArgs) -> anyhow::Result<Vec<u8>> {
    let mut s = match &a.secret_file {
        Some(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        None => std::env::var("IDNODE_SECRET").context("give --secret-file, or the secret in IDNODE_SECRET")?.into(),
    };
    while s.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        s.pop();
    }
    Ok(s)
}

/// The request the arguments describe, and its flags.
fn request(a: &AdminArgs) -> anyhow::Result<(AdminRequest, u32)> {
    let values = || a.values.iter().map(|v| parse_value(v)).collect::<anyhow::Result<Vec<_>>>();
    let h = a.handle.clone();
    Ok(match a.op {
        AdminOp::Create => {
            let flags = if a.overwrite { opflag::OVRW } else { 0 } | if a.mint { opflag::MINT } else { 0 };
            (AdminRequest::Create(h, values()?), flags)
        }
        AdminOp::Add => (AdminRequest::AddValues(h, values()?), if a.overwrite { opflag::OVRW } else { 0 }),
        AdminOp::Modify => (AdminRequest::ModifyValues(h, values()?), 0),
        AdminOp::Remove if a.index.is_empty() => bail!("remove needs --index (repeatable)"),
        AdminOp::Remove => (AdminRequest::RemoveValues(h, a.index.clone()), 0),
        AdminOp::Delete => (AdminRequest::Delete(h), 0),
        AdminOp::List => (AdminRequest::List(h), 0),
    })
}

/// Runs the command: the JSON text to print and whether the node answered success.
pub async fn run(a: &AdminArgs) -> anyhow::Result<(String, bool)> {
    let key = key(a)?;
    let (request, flags) = request(a)?;
    let server = a.server.as_deref().unwrap_or("127.0.0.1:2641");
    let addr: SocketAddr = server.to_socket_addrs()?.next().with_context(|| format!("cannot resolve {server}"))?;
    let transport = if a.udp { Transport::Udp } else { Transport::Tcp };
    let mut link = Link::connect(addr, transport).await?;
    if let AdminRequest::List(_) = request {
        // The handles, one a line; or the refusal as JSON.
        let (code, names) = link.list(&request, &key).await?;
        if code == 1 {
            return Ok((names.join("\n"), true));
        }
        let printed = Printed {
            response_code: code,
            handle: &a.handle,
            message: names.first().map(String::as_str),
            values: None,
        };
        return Ok((serde_json::to_string_pretty(&printed)?, false));
    }
    let answer = link.administer(&request, flags | opflag::RRDG, &key).await?;
    let code = answer.header.response_code;
    // The body: the request digest (asked for), then a created handle or an error message.
    let rest = answer.after_digest();
    let printed_handle = match (code, request) {
        (1, AdminRequest::Create(..)) if rest.len() > 4 => String::from_utf8_lossy(&rest[4..]).into_owned(),
        _ => a.handle.clone(),
    };
    let message = (code != 1).then(|| decode_error_message(rest));
    let printed = Printed { response_code: code, handle: &printed_handle, message: message.as_deref(), values: None };
    Ok((serde_json::to_string_pretty(&printed)?, code == 1))
}

/// `idnode keygen`: writes the private key and returns the `HS_PUBKEY` value to register, as REST JSON.
pub fn keygen(a: &KeygenArgs) -> anyhow::Result<String> {
    use rsa::pkcs8::EncodePrivateKey as _;
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if !(1024..=8192).contains(&a.bits) {
        bail!("--bits must be 1024 to 8192");
    }
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, a.bits)?;
    let pem = private.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&a.out)
        .with_context(|| format!("creating {}", a.out.display()))?;
    file.write_all(pem.as_bytes())?;
    use base64::Engine as _;
    let data = PublicKey::Rsa(private.to_public_key()).encode();
    let value = serde_json::json!({
        "index": a.index,
        "type": "HS_PUBKEY",
        "data": {"format": "key", "value": base64::engine::general_purpose::STANDARD.encode(data)},
    });
    Ok(serde_json::to_string_pretty(&value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_index_type_text() {
        let v = parse_value("1:URL:https://example.cn/p:1").unwrap();
        assert_eq!((v.index, v.ty.as_str(), v.data.as_slice()), (1, "URL", b"https://example.cn/p:1".as_slice()));
        assert!(parse_value("URL:x").is_err());
        assert!(parse_value("x:URL:y").is_err());
    }
}
