//! A Docker Hub search fixture: the index's `GET /v1/search?q&n&page` as `docker search` uses it.
//!
//! Shape from the docker CLI and engine sources (`registry/search.go`: `n` 1–100, default 25;
//! reply `{num_results, num_pages, page, page_size, query, results[{name, description,
//! star_count, is_official, is_automated}]}`, official images without `library/`) and
//! <https://docs.docker.com/reference/cli/docker/search/>.

#![allow(dead_code)]

use serde_json::json;

use super::fixture::{Fixture, Response, serve};

/// Starts an index answering searches over `hits` (name, description, stars, official); a
/// result matches when its name contains the query.
pub fn start(hits: Vec<(&'static str, &'static str, u64, bool)>) -> Fixture {
    serve(move |req| {
        if req.path() != "/v1/search" {
            return Response::json(404, &json!({"message": "not found"}));
        }
        let q = req.query("q").unwrap_or_default();
        let n: usize = match req.query("n").map(|n| n.parse()) {
            None => 25,
            Some(Ok(n)) if (1..=100).contains(&n) => n,
            _ => {
                return Response::json(
                    400,
                    &json!({"message": "Limit 0 is outside the range of [1, 100]"}),
                );
            }
        };
        let page: usize = req
            .query("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1);
        let all: Vec<_> = hits.iter().filter(|h| h.0.contains(q.as_str())).collect();
        let results: Vec<_> = all
            .iter()
            .skip((page - 1) * n)
            .take(n)
            .map(|(name, d, stars, official)| {
                json!({"name": name, "description": d, "star_count": stars,
                       "is_official": official, "is_automated": false})
            })
            .collect();
        Response::json(
            200,
            &json!({"num_results": all.len(), "num_pages": all.len().div_ceil(n),
                    "page": page, "page_size": n, "query": q, "results": results}),
        )
    })
}
