//! The background task that loads the key set at start (retrying with
//! backoff until it succeeds) and then refreshes it periodically.

use std::sync::{Arc, Weak};

use log::warn;

use super::{Backoff, JwksCache, error_chain};

/// Starts loading and refreshing `cache` in the background; `None` for a
/// fixed key set. The task holds only a weak reference, so it ends by itself
/// once the cache is dropped; abort the handle to end it sooner.
pub fn spawn_refresher(cache: &Arc<JwksCache>) -> Option<tokio::task::JoinHandle<()>> {
    cache.source.as_ref()?;
    let weak = Arc::downgrade(cache);
    Some(tokio::spawn(refresh_loop(weak)))
}

async fn refresh_loop(cache: Weak<JwksCache>) {
    let Some(settings) = cache.upgrade().map(|c| c.settings.clone()) else {
        return;
    };
    let mut backoff = Backoff::new(settings.initial_backoff, settings.max_backoff);
    loop {
        let Some(strong) = cache.upgrade() else {
            return;
        };
        match strong.refresh().await {
            Ok(_) => break,
            Err(error) => {
                let delay = backoff.next_delay();
                warn!(
                    "cannot load signing keys yet (retrying in {} ms): {}",
                    delay.as_millis(),
                    error_chain(&error)
                );
                drop(strong);
                tokio::time::sleep(delay).await;
            }
        }
    }
    loop {
        tokio::time::sleep(settings.refresh_every).await;
        let Some(strong) = cache.upgrade() else {
            return;
        };
        if let Err(error) = strong.refresh().await {
            warn!(
                "refreshing signing keys failed, keeping cached keys: {}",
                error_chain(&error)
            );
        }
    }
}
