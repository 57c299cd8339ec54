//! The methods that take several requests, written on top of the generated ones.

use crate::models::Workspace;
use crate::request::{Auth, Method, RequestBuilder};
use crate::{Client, Error};

impl Client {
    /// Finds a workspace by domain or title: an exact domain match first, then a
    /// case-insensitive title match. Returns the workspace's domain.
    ///
    /// Sends `GET /v2/workspaces` (via [`get_workspaces`](Client::get_workspaces)).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no workspace matches, plus the errors of `get_workspaces`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # use squirro_user_api::*;
    /// # fn main() -> Result<(), Error> {
    /// # let client = Client::builder().cluster("https://squirro.example.com").refresh_token("t").build()?;
    /// let domain = client.resolve_workspace("Workspace Five")?;
    /// assert_eq!(domain, "workspace-5");
    /// # Ok(()) }
    /// ```
    pub fn resolve_workspace(&self, identifier: &str) -> Result<String, Error> {
        let list = self.get_workspaces().send()?;
        let found = find_workspace(&list.workspaces, identifier)
            .ok_or_else(|| Error::not_found(format!("Workspace not found: {identifier}")))?;
        Ok(found.domain.clone())
    }

    /// Deletes a user from a workspace: removes the user from each of its groups in the
    /// workspace, then from the workspace.
    ///
    /// Sends `GET /v0/{workspace_domain}/users/{user_id}`, then for each group of the reply
    /// `DELETE /v0/{workspace_domain}/groups/{group_id}/members/{user_id}`, then
    /// `DELETE /v2/workspaces/{workspace_domain}/users/{user_id}`.
    ///
    /// # Errors
    ///
    /// The first failing request's error; the requests before it have taken effect.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # use squirro_user_api::*;
    /// # fn main() -> Result<(), Error> {
    /// # let client = Client::builder().cluster("https://squirro.example.com").refresh_token("t").build()?;
    /// client.delete_workspace_user("project-1", "wWzKOdx-TiiPV2k7FEu6_w")?;
    /// # Ok(()) }
    /// ```
    pub fn delete_workspace_user(
        &self,
        workspace_domain: &str,
        user_id: &str,
    ) -> Result<(), Error> {
        use Part::{Lit, Seg};
        let ws = Seg("workspace_domain", workspace_domain);
        let user = Seg("user_id", user_id);
        let send = |method, ok, parts: &[Part<'_>]| {
            self.execute_with(Auth::Required, &crate::CallOptions::new(), |_| {
                request(method, ok, parts)
            })
        };
        let found: crate::models::User = send(
            Method::Get,
            &[200],
            &[Lit("/v0/"), ws, Lit("/users/"), user],
        )?
        .decode()?;
        for group in found.groups.unwrap_or_default() {
            let Some(group_id) = group.get("id").and_then(|v| v.as_str()) else {
                continue;
            };
            let parts = [
                Lit("/v0/"),
                ws,
                Lit("/groups/"),
                Seg("group_id", group_id),
                Lit("/members/"),
                user,
            ];
            send(Method::Delete, &[204], &parts)?.unit()?;
        }
        let parts = [Lit("/v2/workspaces/"), ws, Lit("/users/"), user];
        send(Method::Delete, &[204], &parts)?.unit()
    }
}

/// A piece of a path: a literal, or a value encoded as one segment.
#[derive(Clone, Copy)]
enum Part<'a> {
    Lit(&'static str),
    Seg(&'static str, &'a str),
}

fn request(
    method: Method,
    ok: &'static [u16],
    parts: &[Part<'_>],
) -> Result<crate::Request, Error> {
    let mut r = RequestBuilder::new("delete_workspace_user", method, ok, Auth::Required);
    for part in parts {
        match *part {
            Part::Lit(s) => r.literal(s),
            Part::Seg(name, value) => r.segment(name, value)?,
        }
    }
    Ok(r.finish())
}

fn find_workspace<'a>(list: &'a [Workspace], identifier: &str) -> Option<&'a Workspace> {
    list.iter().find(|w| w.domain == identifier).or_else(|| {
        let wanted = identifier.to_lowercase();
        list.iter()
            .find(|w| w.title.as_deref().unwrap_or("").to_lowercase() == wanted)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_before_title() {
        let ws: Vec<Workspace> = serde_json::from_str(
            r#"[{"domain":"b","title":"a"},{"domain":"a","title":"A Title"},{"domain":"c","title":"Café"}]"#,
        )
        .unwrap();
        assert_eq!(find_workspace(&ws, "a").unwrap().domain, "a");
        assert_eq!(find_workspace(&ws, "a title").unwrap().domain, "a");
        assert_eq!(find_workspace(&ws, "CAFÉ").unwrap().domain, "c");
        assert!(find_workspace(&ws, "zzz").is_none());
    }
}
