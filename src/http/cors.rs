//! CORS: any origin may read the API (a QR code is scanned from any web page). The tower-http layer answers
//! preflights; every other answer gets the headers that layer would add from [`CorsHeaders`], taken once from the
//! layer itself, because running the layer over each answer costs more than a cached lookup.

use std::convert::Infallible;
use std::future::{Future, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::Response;
use tower::{Layer, ServiceExt, service_fn};
use tower_http::cors::{Any, CorsLayer};

use crate::request::REQUEST_ID;

/// The REST API behind the CORS layer, which answers preflights (`OPTIONS`).
pub type Preflight = tower_http::cors::Cors<axum::Router>;

/// The CORS layer.
pub fn layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::PUT, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            header::ACCEPT,
            HeaderName::from_static(REQUEST_ID),
        ])
        .expose_headers([header::ETAG, HeaderName::from_static(REQUEST_ID)])
}

/// The headers a CORS layer adds to the answer of a `GET`, and how: `Vary` is appended to the answer's own, any
/// other name replaces the answer's value (as the layer does).
#[derive(Debug, Clone)]
pub struct CorsHeaders(Vec<(HeaderName, HeaderValue, bool)>);

impl CorsHeaders {
    /// What `layer` adds to the answer of a `GET`, by running it once over an empty answer (the unit tests check
    /// that the origin makes no difference); `None` if it does not answer at once (a layer that asks someone else
    /// which origins are allowed).
    pub fn of(layer: &CorsLayer) -> Option<Self> {
        let inner = service_fn(|_: Request| ready(Ok::<_, Infallible>(Response::new(Body::empty()))));
        let answer = pin!(layer.layer(inner).oneshot(Request::new(Body::empty())));
        let Poll::Ready(Ok(resp)) = answer.poll(&mut Context::from_waker(Waker::noop())) else {
            return None;
        };
        let mut added = Vec::new();
        let mut last = None;
        for (name, value) in resp.headers().clone() {
            // A name comes with its first value only; the rest are appended to it.
            let append = name.is_none() || name.as_ref() == Some(&header::VARY);
            let name = name.or(last.take())?;
            added.push((name.clone(), value, append));
            last = Some(name);
        }
        Some(Self(added))
    }

    /// Adds the headers to an answer's.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value, append) in &self.0 {
            if *append {
                headers.append(name, value.clone());
            } else {
                headers.insert(name, value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer the layer gives over `inner`'s, for a `GET` from `origin`.
    async fn through_layer(inner: Response, origin: Option<&str>) -> HeaderMap {
        let inner = std::sync::Mutex::new(Some(inner));
        let svc = layer()
            .layer(service_fn(move |_: Request| ready(Ok::<_, Infallible>(inner.lock().unwrap().take().unwrap()))));
        let mut req = Request::new(Body::empty());
        if let Some(o) = origin {
            req.headers_mut().insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        svc.oneshot(req).await.unwrap().headers().clone()
    }

    fn answer() -> Response {
        let mut r = Response::new(Body::empty());
        r.headers_mut().insert(header::VARY, HeaderValue::from_static("Authorization"));
        r.headers_mut().insert(header::ETAG, HeaderValue::from_static("\"1\""));
        r
    }

    #[tokio::test]
    async fn adds_what_the_layer_adds_whatever_the_origin() {
        let added = CorsHeaders::of(&layer()).unwrap();
        assert!(added.0.iter().any(|(n, v, _)| n == header::ACCESS_CONTROL_ALLOW_ORIGIN && v == "*"));
        for origin in [None, Some("https://scan.example.cn"), Some("null")] {
            let mut ours = answer().headers().clone();
            added.apply(&mut ours);
            assert_eq!(ours, through_layer(answer(), origin).await, "origin {origin:?}");
        }
    }

    #[test]
    fn vary_is_appended_and_the_rest_replaced() {
        let added = CorsHeaders::of(&layer()).unwrap();
        let mut h = answer().headers().clone();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("https://old.example"));
        added.apply(&mut h);
        assert_eq!(h.get_all(header::VARY).iter().count(), 2);
        assert_eq!(h.get_all(header::ACCESS_CONTROL_ALLOW_ORIGIN).iter().collect::<Vec<_>>(), ["*"]);
    }
}
