//! The gateway's `x-request-id` travels with every gRPC call it makes, so a service's log line
//! about a failed request names the same id as the gateway's access log and the client's
//! response header. While a request is served its id is the task's current one: log lines
//! name it whatever the log filter does with spans, and calls made on to other services pass
//! it along.

use std::future::Future;
use std::task::{Context, Poll};

use tokio::task::futures::TaskLocalFuture;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

/// Runs `work` (serving one request) with `id` as the current request id.
pub fn scope<F: Future>(id: String, work: F) -> TaskLocalFuture<String, F> {
    CURRENT.scope(id, work)
}

/// The request id of the HTTP request being served, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Serves each gRPC call with the request id its caller sent as the current one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerLayer;

impl<S> tower::Layer<S> for ServerLayer {
    type Service = Server<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Server(inner)
    }
}

#[derive(Debug, Clone)]
pub struct Server<S>(S);

impl<S, B> tower::Service<http::Request<B>> for Server<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TaskLocalFuture<String, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let id = request.headers().get(HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        scope(id.to_owned(), self.0.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_seen_inside_its_scope_only() {
        assert_eq!(current(), None);
        let inside = scope("abc".into(), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("abc"));
    }

    #[tokio::test]
    async fn a_served_call_sees_the_id_its_caller_sent() {
        use tower::{Layer as _, ServiceExt as _};
        let service = ServerLayer.layer(tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(current())
        }));
        let request = http::Request::builder().header(HEADER, "req-9").body(()).unwrap();
        assert_eq!(service.oneshot(request).await.unwrap().as_deref(), Some("req-9"));
    }
}
