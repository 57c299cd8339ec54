//! Authentication: the four grant types of `POST /oauth2/token` and the token request. The
//! session that keeps what an authentication returns is in `session.rs`.

use crate::models::SessionInfo;
use crate::request::{Auth, Context, Method, RequestBuilder};
use crate::session::Granted;
use crate::{Client, Error, Request};
use std::fmt;
use std::time::Instant;

/// The credentials of an authentication (`grant_type` of `POST /oauth2/token`).
/// `Debug` never shows the secrets.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Grant {
    /// `grant_type=refresh_token`: a refresh token (from "API access", or [`Client::new_grant`]).
    RefreshToken(String),
    /// `grant_type=access_token`: exchange an access token.
    AccessToken(String),
    /// `grant_type=password`: a user name (email) and password.
    Password {
        /// The user's name (email).
        username: String,
        /// The password.
        password: String,
    },
    /// `grant_type=ext_id`: a user known to an external authentication service.
    ExternalId {
        /// The service (`auth_service`).
        auth_service: String,
        /// The user at that service (`auth_user`).
        auth_user: String,
    },
}

impl Grant {
    /// A refresh token grant.
    pub fn refresh_token(token: impl Into<String>) -> Self {
        Grant::RefreshToken(token.into())
    }
    /// An access token grant.
    pub fn access_token(token: impl Into<String>) -> Self {
        Grant::AccessToken(token.into())
    }
    /// A password grant.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        Grant::Password {
            username: username.into(),
            password: password.into(),
        }
    }
    /// An external id grant.
    pub fn external_id(auth_service: impl Into<String>, auth_user: impl Into<String>) -> Self {
        Grant::ExternalId {
            auth_service: auth_service.into(),
            auth_user: auth_user.into(),
        }
    }
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = crate::redact::Redacted;
        match self {
            Grant::RefreshToken(_) => f.debug_tuple("RefreshToken").field(&r).finish(),
            Grant::AccessToken(_) => f.debug_tuple("AccessToken").field(&r).finish(),
            Grant::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &r)
                .finish(),
            Grant::ExternalId {
                auth_service,
                auth_user,
            } => f
                .debug_struct("ExternalId")
                .field("auth_service", auth_service)
                .field("auth_user", auth_user)
                .finish(),
        }
    }
}

/// The tokens a client holds. `Debug` shows only whether each is there.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    /// The access token, sent as `Authorization: Bearer`.
    pub access_token: Option<String>,
    /// The refresh token, used to get a new access token.
    pub refresh_token: Option<String>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = |o: &Option<String>| o.as_ref().map(|_| crate::redact::Redacted);
        f.debug_struct("Tokens")
            .field("access_token", &r(&self.access_token))
            .field("refresh_token", &r(&self.refresh_token))
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct TokenReply {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(flatten)]
    info: SessionInfo,
}

impl Client {
    /// Authenticates with one of the four grant types and keeps the tokens (and the tenant,
    /// when the client has none). `POST /oauth2/token` with a form body of `client_id`,
    /// `client_secret`, `tenant`, `user_information` (as JSON, when set) and the grant's fields;
    /// no `Authorization` header.
    ///
    /// ```no_run
    /// use squirro_user_api::{Client, Grant};
    /// # fn main() -> Result<(), squirro_user_api::Error> {
    /// let client = Client::builder().cluster("https://squirro.example.com").build()?;
    /// let session = client
    ///     .authenticate(Grant::password("admin@example.com", "s3cret"))
    ///     .tenant("acme")
    ///     .send()?;
    /// println!("logged in as {:?} with role {:?}", session.user_id, session.role);
    /// # Ok(()) }
    /// ```
    pub fn authenticate(&self, grant: Grant) -> Authenticate<'_> {
        Authenticate {
            client: self,
            grant,
            tenant: None,
            user_information: None,
        }
    }

    /// The session facts of the last authentication (user id, tenant, role, permissions,
    /// session id), if there was one.
    pub fn session(&self) -> Option<SessionInfo> {
        self.inner.session.snapshot().info.clone()
    }

    /// The tokens the client holds now (to persist them; see also
    /// [`ClientBuilder::on_token_refresh`](crate::ClientBuilder::on_token_refresh)).
    pub fn tokens(&self) -> Tokens {
        self.inner.session.snapshot().tokens()
    }

    /// Sends one grant to the token endpoint and checks the reply; the session adopts it.
    pub(crate) fn token_exchange(
        &self,
        request: &Request,
        deadline: Option<Instant>,
    ) -> Result<Granted, Error> {
        let reply = self.send_checked(request, deadline)?;
        let mut parsed: TokenReply = reply.decode()?;
        let access_token = match parsed.access_token.take().filter(|t| !t.is_empty()) {
            Some(t) => t,
            None => {
                return Err(Error::Authentication {
                    status: Some(200),
                    message: Some("the token reply holds no access token".into()),
                });
            }
        };
        // The session facts are printed and kept: nothing secret-named stays in them.
        parsed
            .info
            .extra
            .retain(|k, _| !crate::redact::is_secret_key(k));
        Ok(Granted {
            access_token,
            refresh_token: parsed.refresh_token,
            info: parsed.info,
        })
    }
}

/// The builder of [`Client::authenticate`].
#[must_use = "a request builder does nothing until `.send()` is called"]
pub struct Authenticate<'a> {
    client: &'a Client,
    grant: Grant,
    tenant: Option<String>,
    user_information: Option<serde_json::Value>,
}

impl fmt::Debug for Authenticate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticate")
            .field("grant", &self.grant)
            .field("tenant", &self.tenant)
            .field("user_information", &self.user_information)
            .finish_non_exhaustive()
    }
}

impl Authenticate<'_> {
    /// Authenticates in this tenant (and makes it the client's tenant afterwards, as Python does).
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Information about the user to keep with the session, sent as JSON.
    pub fn user_information(mut self, info: impl Into<serde_json::Value>) -> Self {
        self.user_information = Some(info.into());
        self
    }

    /// The token request, without sending it.
    pub fn request(&self) -> Result<Request, Error> {
        self.build(&self.client.context())
    }

    fn build(&self, ctx: &Context) -> Result<Request, Error> {
        let mut r = RequestBuilder::new("authenticate", Method::Post, &[200], Auth::None);
        r.literal("/oauth2/token");
        if let Some(id) = ctx.client_id() {
            r.form("client_id", id);
        }
        if let Some(secret) = ctx.client_secret() {
            r.form("client_secret", secret);
        }
        let tenant = self.tenant.as_deref().or(ctx.tenant());
        if let Some(t) = tenant {
            if t.is_empty() {
                return Err(Error::invalid("tenant", "must not be empty"));
            }
            r.form("tenant", t);
        }
        if let Some(info) = &self.user_information {
            r.form_json("user_information", info)?;
        }
        let nonempty = |name: &'static str, v: &str| {
            if v.is_empty() {
                Err(Error::invalid(name, "must not be empty"))
            } else {
                Ok(())
            }
        };
        match &self.grant {
            Grant::AccessToken(t) => {
                nonempty("access_token", t)?;
                r.form("grant_type", "access_token");
                r.form("access_token", t.as_str());
            }
            Grant::RefreshToken(t) => {
                nonempty("refresh_token", t)?;
                r.form("grant_type", "refresh_token");
                r.form("refresh_token", t.as_str());
            }
            Grant::ExternalId {
                auth_service,
                auth_user,
            } => {
                nonempty("auth_service", auth_service)?;
                nonempty("auth_user", auth_user)?;
                r.form("grant_type", "ext_id");
                r.form("auth_service", auth_service.as_str());
                r.form("auth_user", auth_user.as_str());
            }
            Grant::Password { username, password } => {
                nonempty("username", username)?;
                r.form("grant_type", "password");
                r.form("username", username.as_str());
                r.form("password", password.as_str());
            }
        }
        Ok(r.finish())
    }

    /// Sends the token request and keeps the tokens, the session facts (see
    /// [`Client::session`]) and the tenant (the one given here, else the token's when the
    /// client has none), then calls the
    /// [`on_token_refresh`](crate::ClientBuilder::on_token_refresh) callback. Nothing changes
    /// on the client unless the authentication succeeds. Retried like an idempotent request,
    /// within the retry policy's deadline.
    ///
    /// # Errors
    ///
    /// A 400 is [`Error::Client`]; 403, 404 and 410 are [`Error::Authentication`]; any other
    /// non-200 is [`Error::UnknownStatus`]; plus the transport's errors.
    pub fn send(self) -> Result<SessionInfo, Error> {
        let client = self.client;
        let request = self.request()?;
        let deadline = client.deadline_from(Instant::now());
        let granted = client.token_exchange(&request, deadline)?;
        let info = granted.info.clone();
        let kept_refresh = match self.grant {
            Grant::RefreshToken(t) => Some(t),
            _ => None,
        };
        let tokens = client
            .inner
            .session
            .adopt(granted, kept_refresh, self.tenant);
        client.inner.session.notify(&tokens);
        Ok(info)
    }
}
