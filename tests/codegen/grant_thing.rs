// The builder that codegen/generator.rs writes for `grant_thing` of tests/codegen/fixture.toml.
// Checked by tests/codegen.rs; rewrite with `UPDATE_EXPECT=1 cargo test --test codegen`.

/// The request builder of [`Client::grant_thing`](crate::Client::grant_thing): set optional
/// parameters, then `.send()`.
#[must_use = "a request builder does nothing until `.send()` is called"]
#[derive(Clone)]
pub struct GrantThing<'a> {
    client: &'a crate::Client,
    options: crate::CallOptions,
    thing_id: String,
    r#type: crate::GrantType,
    for_client_id: Option<String>,
    project_permissions: Option<Vec<String>>,
}

impl std::fmt::Debug for GrantThing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantThing")
            .field("thing_id", &self.thing_id)
            .field("type", &self.r#type)
            .field("for_client_id", &self.for_client_id)
            .field("project_permissions", &self.project_permissions)
            .finish_non_exhaustive()
    }
}

impl<'a> GrantThing<'a> {
    /// Client id of the service the grant is for. Only sent when `type` is `service`, and only when
    /// set.
    pub fn for_client_id(mut self, v: impl Into<String>) -> Self {
        self.for_client_id = Some(v.into());
        self
    }

    /// Permissions granted, sent comma-joined, not at all when empty.
    pub fn project_permissions(mut self, v: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.project_permissions = Some(v.into_iter().map(Into::into).collect());
        self
    }

    /// Builds the request this call would send, without sending it (for dry runs and tests).
    pub fn request(&self) -> Result<crate::Request, crate::Error> {
        self.build(&self.client.context())
    }

    fn build(&self, ctx: &crate::request::Context) -> Result<crate::Request, crate::Error> {
        let mut r = crate::request::RequestBuilder::new(
            "grant_thing",
            crate::Method::Post,
            &[201],
            crate::request::Auth::Required,
        );
        r.literal("/");
        r.version(ctx);
        r.literal("/");
        r.tenant(ctx)?;
        r.literal("/things/");
        r.segment("thing_id", &self.thing_id)?;
        r.literal("/grants");
        r.form("type", &self.r#type);
        if let Some(v) = ctx.client_id() {
            r.form("client_id", v);
        }
        if matches!(self.r#type, crate::GrantType::Service) {
            if let Some(v) = &self.for_client_id {
                r.form("for_client_id", v);
            }
        }
        if let Some(v) = &self.project_permissions {
            if !v.is_empty() {
                r.form("project_permissions", &v.join(","));
            }
        }
        Ok(r.finish())
    }

    /// Sends the request and decodes the reply.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) when a parameter is invalid (nothing is
    /// sent), otherwise any error of [`Client::execute`](crate::Client::execute) and of decoding
    /// the reply.
    pub fn send(self) -> Result<crate::models::NewGrant, crate::Error> {
        self.send_with_reply().map(|(value, _)| value)
    }

    /// Sends the request and decodes the reply, and returns the reply too: its status and headers
    /// (a request id, say).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_with_reply(self) -> Result<(crate::models::NewGrant, crate::Reply), crate::Error> {
        let auth = crate::request::Auth::Required;
        let reply = self
            .client
            .execute_with(auth, &self.options, |ctx| self.build(ctx))?;
        let value = reply.decode::<crate::models::NewGrant>()?;
        Ok((value, reply))
    }

    /// Overrides the client's settings for this call: a timeout, a retry policy, a reply size
    /// limit, extra headers (see [`CallOptions`](crate::CallOptions)).
    pub fn customize(mut self, options: crate::CallOptions) -> Self {
        self.options = options;
        self
    }
}
