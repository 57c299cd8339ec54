//! The session: the one owner of the tokens, the tenant, the session facts of the last
//! authentication, the token refresh and the token callback. Nothing else in the crate reads
//! or writes them; [`Client::execute`](crate::Client::execute) consults the session once, at
//! the top of every call, and again only to refresh after a 401.

use crate::models::SessionInfo;
use crate::redact::Scrubber;
use crate::{Error, Tokens};
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::Instant;
use ureq::http::HeaderValue;

/// Called with the new access and refresh tokens after every successful authentication, so a
/// caller can persist them (Python's `_on_token_refresh`).
pub type TokenCallback = Arc<dyn Fn(&Tokens) + Send + Sync>;

/// What the clones of a client share about who they are.
pub(crate) struct Session {
    /// Replaced as a whole when it changes, so a snapshot is one reference count.
    state: RwLock<Arc<State>>,
    /// The refresh in flight, if any, and the outcome of the last one.
    flight: Mutex<Flight>,
    landed: Condvar,
    on_refresh: Option<TokenCallback>,
}

/// One moment of the session: what a call reads at its start.
#[derive(Clone, Default)]
pub(crate) struct State {
    /// Set with [`State::set_access_token`], which keeps `authorization` in step.
    pub(crate) access_token: Option<String>,
    /// The `Authorization` header value that carries `access_token`, made once per token
    /// instead of once per call (a call clones it: a reference count). `None` without a token,
    /// or for a token no header can carry (a control character, say).
    pub(crate) authorization: Option<HeaderValue>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) tenant: Option<String>,
    pub(crate) info: Option<SessionInfo>,
    /// The client's OAuth credentials (constant; here so a snapshot knows every secret).
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    /// Secrets of the configuration that travel no further than the transport (a proxy's
    /// password), kept to be scrubbed from what the crate shows.
    pub(crate) other_secrets: Vec<String>,
}

impl State {
    /// Sets the access token, and the header value that carries it.
    pub(crate) fn set_access_token(&mut self, token: Option<String>) {
        self.authorization = token.as_deref().and_then(|t| {
            let mut value = HeaderValue::try_from(format!("Bearer {t}")).ok()?;
            // ureq and `http` leave a sensitive value out of what they show.
            value.set_sensitive(true);
            Some(value)
        });
        self.access_token = token;
    }

    /// A scrubber that knows every secret of this moment.
    pub(crate) fn scrubber(&self) -> Scrubber {
        let mut s = Scrubber::default();
        for secret in [&self.access_token, &self.refresh_token, &self.client_secret]
            .into_iter()
            .flatten()
        {
            s.add(secret);
        }
        for secret in &self.other_secrets {
            s.add(secret);
        }
        s
    }

    pub(crate) fn tokens(&self) -> Tokens {
        Tokens {
            access_token: self.access_token.clone(),
            refresh_token: self.refresh_token.clone(),
        }
    }
}

impl fmt::Debug for State {
    /// Shown as the [`Tokens`] it holds (which say only whether each token is there).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.tokens(), f)
    }
}

#[derive(Default)]
struct Flight {
    running: bool,
    last: Option<Landed>,
}

/// How the last refresh ended.
struct Landed {
    /// The access token it was to replace.
    refused: Option<String>,
    ended: Instant,
    failure: Option<Error>,
}

/// The tokens and facts of a successful token reply, before the session adopts them.
pub(crate) struct Granted {
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
    pub(crate) info: SessionInfo,
}

impl Session {
    pub(crate) fn new(state: State, on_refresh: Option<TokenCallback>) -> Self {
        Session {
            state: RwLock::new(Arc::new(state)),
            flight: Mutex::new(Flight::default()),
            landed: Condvar::new(),
            on_refresh,
        }
    }

    /// The session as it is now.
    pub(crate) fn snapshot(&self) -> Arc<State> {
        Arc::clone(&self.state.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Keeps the tokens and facts of a successful authentication. The tenant becomes `tenant`
    /// when the authentication named one, else the token's when the session has none. A reply
    /// without a refresh token keeps `kept_refresh` (the token the grant used), so a refresh
    /// can never leave the client unable to refresh.
    pub(crate) fn adopt(
        &self,
        granted: Granted,
        kept_refresh: Option<String>,
        tenant: Option<String>,
    ) -> Tokens {
        let mut guard = self.state.write().unwrap_or_else(|e| e.into_inner());
        let s = Arc::make_mut(&mut guard);
        if let Some(t) = tenant {
            s.tenant = Some(t);
        } else if s.tenant.is_none() {
            s.tenant = granted.info.tenant.clone().filter(|t| !t.is_empty());
        }
        s.set_access_token(Some(granted.access_token));
        s.refresh_token = granted
            .refresh_token
            .filter(|t| !t.is_empty())
            .or(kept_refresh);
        s.info = Some(granted.info);
        s.tokens()
    }

    /// Calls the caller's callback with new tokens; never under a lock, so it may use the client.
    pub(crate) fn notify(&self, tokens: &Tokens) {
        if let Some(cb) = &self.on_refresh {
            cb(tokens);
        }
    }

    /// Replaces the access token `refused` (or gets a first one when it is `None`): one
    /// refresh for all clones. A caller that finds a refresh in flight waits for it and takes
    /// its outcome, success or failure; a caller whose call started before a failed refresh of
    /// the same token ended takes that failure too, so a crowd of threads meeting one expired
    /// token sends one token request, not one each. `exchange` sends one refresh-token grant.
    ///
    /// As Python does, up to 3 token requests are made until an access token other than the
    /// refused one comes back (on a multi-node cluster, one node may still accept a token
    /// another refused); a server that rotates refresh tokens gets the newest one each time.
    pub(crate) fn refresh(
        &self,
        refused: Option<&str>,
        call_started: Instant,
        exchange: impl Fn(&str) -> Result<Granted, Error>,
    ) -> Result<Arc<State>, Error> {
        let mut flight = self.lock_flight();
        loop {
            let now = self.snapshot();
            if now.access_token.is_some() && now.access_token.as_deref() != refused {
                return Ok(now);
            }
            if flight.running {
                flight = self.landed.wait(flight).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            if let Some(Landed {
                refused: r,
                ended,
                failure: Some(e),
            }) = &flight.last
            {
                if r.as_deref() == refused && call_started <= *ended {
                    return Err(e.clone());
                }
            }
            break;
        }
        flight.running = true;
        drop(flight);
        // Whatever happens below (a panicking callback of the caller's included), the flight
        // lands and the waiters wake.
        let mut landing = Landing {
            session: self,
            refused,
            failure: None,
        };
        let outcome = self.refresh_now(refused, &exchange);
        match outcome {
            Ok(tokens) => {
                drop(landing);
                self.notify(&tokens);
                Ok(self.snapshot())
            }
            Err(e) => {
                landing.failure = Some(e.clone());
                drop(landing);
                Err(e)
            }
        }
    }

    fn refresh_now(
        &self,
        refused: Option<&str>,
        exchange: &impl Fn(&str) -> Result<Granted, Error>,
    ) -> Result<Tokens, Error> {
        let Some(mut refresh_token) = self.snapshot().refresh_token.clone() else {
            return Err(Error::Authentication {
                status: None,
                message: Some(match refused {
                    Some(_) => "the access token was refused and there is no refresh token".into(),
                    None => "missing access and refresh token: authenticate first".into(),
                }),
            });
        };
        let mut last = None;
        for _ in 0..3 {
            let granted = exchange(&refresh_token)?;
            let changed = Some(granted.access_token.as_str()) != refused;
            let used = refresh_token.clone();
            let tokens = self.adopt(granted, Some(used), None);
            if let Some(r) = &tokens.refresh_token {
                refresh_token.clone_from(r);
            }
            if changed {
                return Ok(tokens);
            }
            last = Some(tokens);
        }
        if let Some(tokens) = &last {
            self.notify(tokens);
        }
        Err(Error::Authentication {
            status: None,
            message: Some("the token endpoint kept returning the refused access token".into()),
        })
    }

    fn lock_flight(&self) -> MutexGuard<'_, Flight> {
        self.flight.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Lands a refresh flight when dropped: records its outcome and wakes the waiters.
struct Landing<'a> {
    session: &'a Session,
    refused: Option<&'a str>,
    failure: Option<Error>,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut flight = self.session.lock_flight();
        flight.running = false;
        flight.last = Some(Landed {
            refused: self.refused.map(str::to_owned),
            ended: Instant::now(),
            failure: self.failure.take(),
        });
        drop(flight);
        self.session.landed.notify_all();
    }
}
