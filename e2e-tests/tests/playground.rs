//! The playground page, clicked through in headless Chromium against both
//! real servers: log in, call the API, watch the access token expire and
//! the API answer 401, refresh, replay the old refresh token and see the
//! family die, log in again and revoke. Each step checks what the page
//! shows. `SAVE_SCREENSHOTS=1` also writes `docs/playground.png`.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{FULL_SCOPE, PASSWORD};
use e2e_tests::browser::Browser;
use e2e_tests::fixture::{AuthServer, DEFAULT_AUDIENCE, ResourceServer, reserve_local_address};
use fantoccini::{Client, Locator};

/// Short, so the token expires during the test; long enough for the calls
/// made before that.
const ACCESS_TTL: Duration = Duration::from_secs(6);
/// The client id the page suggests.
const CLIENT: &str = "playground";
/// Bound for anything the page does after a click.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

#[test]
fn the_playground_shows_every_step_of_the_token_lifecycle() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let Some(browser) = runtime
        .block_on(Browser::start("playground"))
        .expect("headless Chromium starts")
    else {
        return;
    };

    // Given both servers, the auth server serving the playground and the
    // resource server allowing its origin by CORS
    let api_address = reserve_local_address().expect("a free port");
    let auth = AuthServer::builder()
        .access_ttl(ACCESS_TTL)
        .playground_resource_url(format!("http://{api_address}"))
        .start()
        .expect("auth-server starts");
    auth.add_user("alice", PASSWORD).expect("users add alice");
    auth.add_client(
        CLIENT,
        &["password", "refresh_token"],
        FULL_SCOPE,
        DEFAULT_AUDIENCE,
    )
    .expect("clients add playground");
    let _api = ResourceServer::builder(&auth)
        .bind(api_address)
        .cors_origin(auth.url())
        .start()
        .expect("resource-server starts");

    runtime.block_on(async {
        let page = Page(browser.client());
        page.open(&auth.endpoint("/playground")).await;
        log_in_and_call_the_api(&page).await;
        watch_the_token_expire(&page).await;
        refresh_and_use_the_new_token(&page).await;
        replay_the_old_refresh_token(&page).await;
        if std::env::var_os("SAVE_SCREENSHOTS").is_some_and(|v| v == "1") {
            page.save_screenshot().await;
        }
        log_in_again_and_revoke(&page).await;
    });
    runtime
        .block_on(browser.close())
        .expect("the browser closes");
}

async fn log_in_and_call_the_api(page: &Page<'_>) {
    // When alice logs in through the page
    assert_eq!(
        page.value("#client-id").await,
        CLIENT,
        "suggested client id"
    );
    page.type_into("#username", "alice").await;
    page.type_into("#password", PASSWORD).await;
    let login = page.click_for_exchange("#login-button").await;

    // Then the exchange is on the wire log, the password masked
    login.expect(200, "POST /oauth/token");
    assert!(login.text.contains("grant_type=password"), "{}", login.text);
    assert!(login.text.contains("password=********"), "{}", login.text);
    assert!(
        !login.text.contains("correct+horse"),
        "password shown: {}",
        login.text
    );
    assert!(login.text.contains("\"refresh_token\""), "{}", login.text);
    // And the access token is decoded, with a live countdown
    let header = page.text("#jwt-header").await;
    assert!(header.contains("\"typ\": \"at+jwt\""), "{header}");
    assert!(header.contains("\"alg\": \"EdDSA\""), "{header}");
    let claims = page.text("#jwt-claims").await;
    for claim in [
        "\"client_id\": \"playground\"",
        "\"scope\": \"notes:read notes:write\"",
        "\"aud\": \"resource-server\"",
        "\"exp\": ",
    ] {
        assert!(claims.contains(claim), "{claim} in {claims}");
    }
    assert_eq!(page.attr("#countdown", "data-state").await, "valid");
    assert!(page.text("#countdown").await.starts_with("Valid for"));
    assert_ne!(page.text("#refresh-token").await, "none");

    // And the API, on another origin, answers the page
    let me = page.click_for_exchange("#call-me").await;
    me.expect(200, "GET /api/me");
    assert!(
        me.text.contains("\"client_id\": \"playground\""),
        "{}",
        me.text
    );
    assert!(me.text.contains("Authorization: Bearer ey"), "{}", me.text);
}

async fn watch_the_token_expire(page: &Page<'_>) {
    // When the countdown reaches zero
    page.wait_until(
        "the countdown says expired",
        ACCESS_TTL + STEP_TIMEOUT,
        || async move { page.attr("#countdown", "data-state").await == "expired" },
    )
    .await;
    assert!(page.text("#countdown").await.starts_with("Expired"));

    // Then the API refuses the token, and the page shows why. The page's
    // clock and the API's agree only to the second, so call until refused.
    let deadline = Instant::now() + STEP_TIMEOUT;
    let refused = loop {
        let exchange = page.click_for_exchange("#call-me").await;
        if exchange.status == "401" {
            break exchange;
        }
        assert!(
            Instant::now() < deadline,
            "never refused: {}",
            exchange.text
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    assert!(
        refused
            .text
            .contains("www-authenticate: Bearer realm=\"api\", error=\"invalid_token\""),
        "{}",
        refused.text
    );
    let explanation = page.text("#explain").await;
    assert!(
        explanation.contains("WWW-Authenticate: Bearer"),
        "{explanation}"
    );
    assert!(explanation.contains("invalid_token"), "{explanation}");
}

async fn refresh_and_use_the_new_token(page: &Page<'_>) {
    let first_refresh_token = page.text("#refresh-token").await;

    // When the page refreshes
    page.click_for_exchange("#refresh")
        .await
        .expect(200, "POST /oauth/token");

    // Then a new pair replaces the old one, which the page keeps aside
    assert_eq!(page.text("#old-refresh-token").await, first_refresh_token);
    assert_ne!(page.text("#refresh-token").await, first_refresh_token);
    assert_eq!(page.attr("#countdown", "data-state").await, "valid");
    assert!(page.text("#explain").await.starts_with("Refreshed"));
    // And the new access token works for every endpoint
    page.click_for_exchange("#call-me")
        .await
        .expect(200, "GET /api/me");
    page.click_for_exchange("#add-note")
        .await
        .expect(201, "POST /api/notes");
    let notes = page.click_for_exchange("#call-notes").await;
    notes.expect(200, "GET /api/notes");
    assert!(
        notes.text.contains("hello from the playground"),
        "{}",
        notes.text
    );
}

async fn replay_the_old_refresh_token(page: &Page<'_>) {
    // When the already-used refresh token is presented again
    let replay = page.click_for_exchange("#replay").await;

    // Then it is refused, and the page says the family was revoked
    replay.expect(400, "POST /oauth/token");
    assert!(replay.text.contains("invalid_grant"), "{}", replay.text);
    let explanation = page.text("#explain").await;
    assert!(explanation.starts_with("Reuse detected"), "{explanation}");
    // And the current refresh token died with its family
    let refresh = page.click_for_exchange("#refresh").await;
    refresh.expect(400, "POST /oauth/token");
    assert!(refresh.text.contains("invalid_grant"), "{}", refresh.text);
}

async fn log_in_again_and_revoke(page: &Page<'_>) {
    page.click_for_exchange("#login-button")
        .await
        .expect(200, "POST /oauth/token");
    // The fresh login starts a new family: nothing old to replay.
    assert_eq!(page.text("#old-refresh-token").await, "none");

    let revoke = page.click_for_exchange("#revoke").await;
    revoke.expect(200, "POST /oauth/revoke");
    assert!(
        revoke.text.contains("token_type_hint=refresh_token"),
        "{}",
        revoke.text
    );
    assert!(page.text("#explain").await.starts_with("Revoked"));

    page.click_for_exchange("#refresh")
        .await
        .expect(400, "POST /oauth/token");
}

/// One entry of the page's wire log.
struct Exchange {
    /// The HTTP status as the page recorded it ("0" when nothing came back).
    status: String,
    /// Everything the entry shows: request line, headers, bodies.
    text: String,
}

impl Exchange {
    fn expect(&self, status: u16, request: &str) {
        assert_eq!(self.status, status.to_string(), "{}", self.text);
        assert!(self.text.contains(request), "{request} in {}", self.text);
    }
}

/// The playground as a test reads it: by element id, through WebDriver.
struct Page<'a>(&'a Client);

impl Page<'_> {
    async fn open(&self, url: &str) {
        self.0.goto(url).await.expect("the page loads");
        // The script is deferred: it has run once the resource URL is shown.
        self.wait_until("the script ran", STEP_TIMEOUT, || async move {
            !self.text("#resource-url").await.is_empty()
        })
        .await;
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.0
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css} on the page: {error}"))
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("element value")
            .unwrap_or_default()
    }

    async fn attr(&self, css: &str, name: &str) -> String {
        self.find(css)
            .await
            .attr(name)
            .await
            .expect("element attribute")
            .unwrap_or_default()
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.find(css).await.send_keys(text).await.expect("typing");
    }

    /// Clicks `css` and returns the exchange it added to the log.
    async fn click_for_exchange(&self, css: &str) -> Exchange {
        let before = &self.attr("#log", "data-count").await;
        self.find(css).await.click().await.expect("click");
        self.wait_until(
            &format!("an exchange after clicking {css}"),
            STEP_TIMEOUT,
            || async move { self.attr("#log", "data-count").await != *before },
        )
        .await;
        Exchange {
            status: self.attr("#log > li:first-child", "data-status").await,
            text: self.text("#log > li:first-child").await,
        }
    }

    /// Polls `condition` until it holds, failing after `limit`.
    async fn wait_until<F, Fut>(&self, what: &str, limit: Duration, condition: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + limit;
        while !condition().await {
            assert!(Instant::now() < deadline, "{what} within {limit:?}");
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn save_screenshot(&self) {
        let png = self.0.screenshot().await.expect("a screenshot");
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/playground.png");
        std::fs::write(&path, png).expect("docs/playground.png written");
        println!("screenshot saved to {}", path.display());
    }
}
