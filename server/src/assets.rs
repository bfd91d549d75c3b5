//! Web assets (CSS, the islands' JS and wasm, the status page's live module, icons), embedded in
//! the binary at build time so the
//! release binary runs from any directory. Served under a content-versioned path
//! (`/pkg/<version>/...`) with year-long immutable caching, precompressed once (gzip, brotli).

use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

/// The site directory cargo-leptos writes (CSS, `pkg/`, files from `public/`).
#[derive(RustEmbed)]
#[folder = "../target/site"]
#[allow_missing = true]
struct Site;

/// The status page's live island (wasm-bindgen output of `frontend/live`), served under `pkg/live/`.
#[derive(RustEmbed)]
#[folder = "../target/live"]
#[allow_missing = true]
struct Live;

/// One file, with its compressed variants made on first use.
#[derive(Debug)]
pub struct Asset {
    content_type: &'static str,
    identity: Bytes,
    etag: String,
    gzip: OnceLock<Option<Bytes>>,
    brotli: OnceLock<Option<Bytes>>,
}

/// Which encoding a client accepts, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `br`
    Brotli,
    /// `gzip`
    Gzip,
    /// No compression.
    Identity,
}

/// Picks the best encoding from an `Accept-Encoding` header (q=0 means "not acceptable").
pub fn negotiate(headers: &HeaderMap) -> Encoding {
    let Some(raw) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return Encoding::Identity;
    };
    let accepts = |name: &str| {
        raw.split(',').any(|part| {
            let mut it = part.trim().split(';');
            let enc = it.next().unwrap_or("").trim();
            let q_zero = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            enc.eq_ignore_ascii_case(name) && !q_zero
        })
    };
    if accepts("br") {
        Encoding::Brotli
    } else if accepts("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// Compresses with gzip at the best level.
pub fn gzip(data: &[u8]) -> Option<Bytes> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).ok()?;
    enc.finish().ok().map(Bytes::from)
}

/// Compresses with brotli (quality 11, window 22).
pub fn brotli(data: &[u8]) -> Option<Bytes> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        w.write_all(data).ok()?;
    }
    Some(Bytes::from(out))
}

fn is_compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.contains("javascript")
        || content_type.contains("json")
        || content_type.contains("svg")
        || content_type == "application/wasm"
}

impl Asset {
    /// Wraps bytes of the given type.
    pub fn new(content_type: &'static str, data: Bytes) -> Asset {
        let etag = format!("\"{}\"", &hex(&Sha256::digest(&data))[..20]);
        Asset {
            content_type,
            identity: data,
            etag,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }

    /// The uncompressed bytes.
    pub fn identity(&self) -> &Bytes {
        &self.identity
    }

    /// The strong ETag (quoted).
    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// The body for `enc`, falling back to identity where compression does not pay.
    pub fn body(&self, enc: Encoding) -> (Bytes, Option<&'static str>) {
        if !is_compressible(self.content_type) || self.identity.len() < 256 {
            return (self.identity.clone(), None);
        }
        let pick = |v: &Option<Bytes>, name| match v {
            Some(b) if b.len() < self.identity.len() => (b.clone(), Some(name)),
            _ => (self.identity.clone(), None),
        };
        match enc {
            Encoding::Brotli => pick(self.brotli.get_or_init(|| brotli(&self.identity)), "br"),
            Encoding::Gzip => pick(self.gzip.get_or_init(|| gzip(&self.identity)), "gzip"),
            Encoding::Identity => (self.identity.clone(), None),
        }
    }

    /// A full response honouring `If-None-Match` and `Accept-Encoding`.
    pub fn respond(&self, req: &HeaderMap, cache_control: &'static str) -> Response {
        let not_modified = req
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim() == self.etag || t.trim() == "*")
            });
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        if let Ok(v) = HeaderValue::from_str(&self.etag) {
            headers.insert(header::ETAG, v);
        }
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if not_modified {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        let (body, enc) = self.body(negotiate(req));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        if let Some(enc) = enc {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
        }
        (StatusCode::OK, headers, body).into_response()
    }
}

/// All embedded assets, by path relative to the site root (`pkg/firstline.css`).
#[derive(Debug)]
pub struct Assets {
    files: HashMap<String, Asset>,
    version: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn content_type_of(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

impl Assets {
    /// Loads the embedded site (skipping precompressed copies) and computes its version.
    pub fn load() -> Assets {
        let mut names: Vec<(String, String)> = Site::iter()
            .map(|n| (n.to_string(), n.to_string()))
            .chain(Live::iter().map(|n| (format!("pkg/live/{n}"), n.to_string())))
            .filter(|(n, _)| !n.ends_with(".gz") && !n.ends_with(".br"))
            .collect();
        names.sort();
        let mut hasher = Sha256::new();
        let mut files = HashMap::new();
        for (name, source) in names {
            let file = if name.starts_with("pkg/live/") {
                Live::get(&source)
            } else {
                Site::get(&source)
            };
            if let Some(file) = file {
                hasher.update(name.as_bytes());
                hasher.update(file.data.as_ref());
                let data = Bytes::from(file.data.into_owned());
                files.insert(name.clone(), Asset::new(content_type_of(&name), data));
            }
        }
        let version = hex(&hasher.finalize())[..12].to_string();
        Assets { files, version }
    }

    /// The content version used in asset URLs.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// URL path prefix of the `pkg` directory for this version, without leading slash.
    pub fn pkg_dir(&self) -> String {
        format!("pkg/{}", self.version)
    }

    /// True when the islands' wasm was embedded (built with cargo-leptos).
    pub fn has_wasm(&self) -> bool {
        self.files.contains_key("pkg/firstline.wasm")
    }

    /// True when the status page's live island was embedded.
    pub fn has_live(&self) -> bool {
        self.files.contains_key("pkg/live/status_live_bg.wasm")
            && self.files.contains_key("pkg/live/status_live.js")
    }

    /// A file by its site path.
    pub fn get(&self, path: &str) -> Option<&Asset> {
        self.files.get(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn negotiation_table() {
        assert_eq!(negotiate(&HeaderMap::new()), Encoding::Identity);
        assert_eq!(negotiate(&h("gzip, deflate, br")), Encoding::Brotli);
        assert_eq!(negotiate(&h("gzip")), Encoding::Gzip);
        assert_eq!(negotiate(&h("br;q=0, gzip")), Encoding::Gzip);
        assert_eq!(negotiate(&h("identity")), Encoding::Identity);
    }

    #[test]
    fn compressed_bodies_round_trip() {
        let text = "body { color: red; }\n".repeat(100);
        let asset = Asset::new("text/css; charset=utf-8", Bytes::from(text.clone()));
        let (gz, enc) = asset.body(Encoding::Gzip);
        assert_eq!(enc, Some("gzip"));
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out)
            .unwrap();
        assert_eq!(out, text);
        let (br, enc) = asset.body(Encoding::Brotli);
        assert_eq!(enc, Some("br"));
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut brotli::Decompressor::new(&br[..], 4096), &mut out)
            .unwrap();
        assert_eq!(out, text.as_bytes());
        let png = Asset::new("image/png", Bytes::from(vec![0u8; 1000]));
        assert_eq!(png.body(Encoding::Brotli).1, None);
    }

    #[test]
    fn etag_gives_304() {
        let asset = Asset::new("text/css; charset=utf-8", Bytes::from_static(b"a{}"));
        let mut req = HeaderMap::new();
        req.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&asset.etag).unwrap(),
        );
        assert_eq!(
            asset.respond(&req, "no-cache").status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            asset.respond(&HeaderMap::new(), "no-cache").status(),
            StatusCode::OK
        );
    }
}
