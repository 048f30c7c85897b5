//! Adding response parameters to a client's redirect URI (RFC 6749 §3.1.2:
//! the URI's own query is kept, ours are appended, form-encoded).

/// `uri` with `params` appended to its query.
pub fn redirect_uri_with(uri: &str, params: &[(&str, &str)]) -> Result<String, url::ParseError> {
    let mut url = url::Url::parse(uri)?;
    url.query_pairs_mut().extend_pairs(params);
    Ok(url.into())
}
