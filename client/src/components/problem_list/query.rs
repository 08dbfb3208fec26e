//! A problem list's query string (`state=open&flag=red…`, the `/api/problems` parameters) as
//! ordered pairs: what the route carries, the filters read and the links write.

/// A list's query string as ordered `key=value` pairs (the `/api/problems` parameters).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query(Vec<(String, String)>);

fn decode(text: &str) -> String {
    let text = text.replace('+', " ");
    js_sys::decode_uri_component(&text)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or(text)
}

fn encode(text: &str) -> String {
    js_sys::encode_uri_component(text)
        .as_string()
        .unwrap_or_default()
}

impl Query {
    /// Parses `a=1&b=x%2Cy`; empty values are dropped.
    pub fn parse(text: &str) -> Query {
        Query(
            text.split('&')
                .filter_map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    let (k, v) = (decode(k), decode(v));
                    (!k.is_empty() && !v.is_empty()).then_some((k, v))
                })
                .collect(),
        )
    }

    /// The value of `key` (empty when absent).
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// A copy with `key` set to `value` (removed when `value` is empty).
    pub fn with(&self, key: &str, value: &str) -> Query {
        let mut pairs: Vec<(String, String)> =
            self.0.iter().filter(|(k, _)| k != key).cloned().collect();
        if !value.is_empty() {
            pairs.push((key.to_string(), value.to_string()));
        }
        Query(pairs)
    }

    /// The filters set (everything but sort, order and page).
    pub(super) fn filters(&self) -> impl Iterator<Item = &(String, String)> {
        self.0
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "sort" | "order" | "limit" | "offset"))
    }
}

impl std::fmt::Display for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self
            .0
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        f.write_str(&text)
    }
}
