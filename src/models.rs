//! Typed replies. Every model keeps the fields it does not name in `extra`, so a reply with
//! fields we do not model decodes and loses nothing. The fields the server always sends (ids,
//! a workspace's domain) are plain `String`s and must be there: a reply without one is
//! [`Error::Decode`](crate::Error::Decode) naming it. Optional and list fields that are missing
//! or `null` take their empty value.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::marker::PhantomData;

/// The name a field has on the wire: its identifier without a raw prefix (`r#type` → `type`).
const fn wire_name(ident: &'static str) -> &'static str {
    match ident.as_bytes() {
        [b'r', b'#', rest @ ..] => match std::str::from_utf8(rest) {
            Ok(name) => name,
            Err(_) => ident,
        },
        _ => ident,
    }
}

/// How a named field decodes. A `String` is required (the models make non-optional only what
/// the server always sends: ids, a workspace's domain): missing is serde's error naming the
/// field, `null` a type error. An `Option` or a `Vec` takes its empty value when missing or
/// `null`.
trait Field<'de>: Sized {
    /// Decodes the value of the field from the map's next value.
    fn next<A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error>;
    /// The value of a field the reply does not have.
    fn missing<E: de::Error>(name: &'static str) -> Result<Self, E>;
}

impl<'de> Field<'de> for String {
    fn next<A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        map.next_value()
    }
    fn missing<E: de::Error>(name: &'static str) -> Result<Self, E> {
        Err(E::missing_field(name))
    }
}

impl<'de, T: Deserialize<'de>> Field<'de> for Option<T> {
    fn next<A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        map.next_value()
    }
    fn missing<E: de::Error>(_: &'static str) -> Result<Self, E> {
        Ok(None)
    }
}

impl<'de, T: Deserialize<'de>> Field<'de> for Vec<T> {
    fn next<A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        map.next_value_seed(List(PhantomData))
    }
    fn missing<E: de::Error>(_: &'static str) -> Result<Self, E> {
        Ok(Vec::new())
    }
}

/// A list field: `null` is empty. Once a list has [`COUNT_FROM`] elements, it asks the
/// decoder how many are left (the fast path of `Reply::decode` estimates it for the reply's
/// main list, from the bytes left and the bytes per element so far, and counts it for lists
/// deeper in), makes room for them at once, and gives back at the end what an estimate made
/// it take too much. Growing a big list meant copying it to a new place a dozen times, and
/// when glibc gave the freed memory back to the system, faulting it in again on the next
/// call: that was a third of the time of decoding `get_users` of 10,000 users in a loop.
/// Otherwise (`serde_json`) the list grows by a third of its length at a time (serde's `Vec`
/// doubles), so a big list of models holds at most a third more than it needs while it is
/// decoded and after. (Growing by a quarter made decoding `get_users` of 10,000 users 1.5
/// times slower: the copies of a big list that glibc cannot grow in place.)
struct List<T>(PhantomData<T>);

/// The most a list allocates ahead on the decoder's count or estimate: a reply whose list
/// turns out shorter, or not to decode, costs at most this, for as long as it is decoded.
const MAX_RESERVE_BYTES: usize = 64 << 20;

/// The length from which a list asks the decoder how many elements are left (after enough
/// elements for an estimate, and not for a role's few permissions).
const COUNT_FROM: usize = 16;

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for List<T> {
    type Value = Vec<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for List<T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }
    fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut list = Vec::new();
        // Whether the decoder was asked how many are left, and whether room was made for them.
        let (mut asked, mut hinted) = (false, false);
        while let Some(item) = seq.next_element()? {
            // Once a list is longer than a few elements, the room for the rest at once when
            // the decoder can tell how many there are (without the room, it grows as below).
            if list.len() == list.capacity() && list.len() >= COUNT_FROM && !asked {
                asked = true;
                if let Some(rest) = seq.size_hint() {
                    let most = MAX_RESERVE_BYTES / std::mem::size_of::<T>().max(1);
                    hinted = list
                        .try_reserve_exact(rest.saturating_add(1).min(most))
                        .is_ok();
                }
            }
            if list.len() == list.capacity() {
                // One element first (most lists in replies are short: a role's permissions),
                // then a third more, at least 4.
                let more = match list.len() {
                    0 => 1,
                    n => (n / 3).max(4),
                };
                list.reserve_exact(more);
            }
            list.push(item);
        }
        // An estimate that was more than an eighth too high: give the rest back (in place).
        if hinted && list.capacity() - list.len() > list.len() / 8 {
            list.shrink_to_fit();
        }
        Ok(list)
    }
}

/// A type decoded from a JSON object field by field, the fields it does not name kept in
/// `extra` as they came (in order, and without buffering the object: serde's `flatten` would
/// copy every field into an intermediate tree first).
trait FromMap: Sized {
    /// What serde's error says was expected.
    const EXPECTING: &'static str;
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// The visitor of a [`FromMap`] type.
struct MapVisitor<T>(PhantomData<T>);

impl<'de, T: FromMap> Visitor<'de> for MapVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_map(map)
    }
}

/// The named fields of a [`FromMap`] type, found by their name on the wire.
trait Tags: Sized {
    /// The named field `key` is, if any.
    fn tag(key: &str) -> Option<Self>;
}

/// Decodes a key of a [`FromMap`] type: `K::tag` finds a named field's tag without
/// allocating; other keys become owned strings for `extra`. (A type, not a function pointer:
/// the lookup inlines into the decoding of each key.)
struct KeySeed<K>(PhantomData<K>);

/// A key: a named field's tag, or another field's name.
enum Key<K> {
    Known(K),
    Other(String),
}

impl<'de, K: Tags> DeserializeSeed<'de> for KeySeed<K> {
    type Value = Key<K>;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key<K>, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de, K: Tags> Visitor<'de> for KeySeed<K> {
    type Value = Key<K>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    #[inline]
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<K>, E> {
        Ok(match K::tag(v) {
            Some(k) => Key::Known(k),
            None => Key::Other(v.to_owned()),
        })
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<K>, E> {
        Ok(match K::tag(&v) {
            Some(k) => Key::Known(k),
            None => Key::Other(v),
        })
    }
}

/// The fields of an object its model does not name, gathered (on the stack when they are few)
/// so that `extra` is built at its exact size: an `IndexMap` grown one insert at a time holds
/// up to twice the entries it needs, at 112 bytes an entry.
#[derive(Default)]
struct Extras {
    inline: [Option<(String, Value)>; 8],
    len: usize,
    more: Vec<(String, Value)>,
}

impl Extras {
    fn push(&mut self, name: String, value: Value) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = Some((name, value)),
            None => self.more.push((name, value)),
        }
        self.len += 1;
    }

    /// The map, in the order the fields came; a name that came twice keeps its first place
    /// and its last value.
    fn take_map(&mut self) -> Map<String, Value> {
        if self.len == 0 {
            return Map::new();
        }
        let mut map = Map::with_capacity(self.len);
        // By reference: moving the array out would copy all of it.
        for (name, value) in self.inline.iter_mut().filter_map(Option::take) {
            map.insert(name, value);
        }
        for (name, value) in self.more.drain(..) {
            map.insert(name, value);
        }
        map
    }
}

/// Implements [`FromMap`] for a struct of named fields (each a [`Field`]) and `extra`.
macro_rules! from_map {
    ($name:ident { $( $field:ident : $ty:ty ),* $(,)? }) => {
        impl FromMap for $name {
            const EXPECTING: &'static str = concat!("struct ", stringify!($name));

            fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
                /// The named fields.
                #[allow(non_camel_case_types)]
                enum Tag { $( $field, )* }
                impl Tags for Tag {
                    #[inline]
                    #[allow(unused_variables)] // a model with no named field
                    fn tag(key: &str) -> Option<Tag> {
                        $( if key == const { wire_name(stringify!($field)) } {
                            return Some(Tag::$field);
                        } )*
                        None
                    }
                }
                $( let mut $field: Option<$ty> = None; )*
                let mut extra = Extras::default();
                while let Some(key) = map.next_key_seed(KeySeed::<Tag>(PhantomData))? {
                    match key {
                        $( Key::Known(Tag::$field) => {
                            if $field.is_some() {
                                return Err(de::Error::duplicate_field(
                                    const { wire_name(stringify!($field)) },
                                ));
                            }
                            $field = Some(<$ty as Field>::next(&mut map)?);
                        } )*
                        Key::Other(name) => {
                            extra.push(name, map.next_value()?);
                        }
                    }
                }
                Ok($name {
                    $( $field: match $field {
                        Some(v) => v,
                        None => <$ty as Field>::missing(const { wire_name(stringify!($field)) })?,
                    }, )*
                    extra: extra.take_map(),
                })
            }
        }
    };
}

/// `Deserialize` through [`FromMap`].
macro_rules! deserialize_from_map {
    ($name:ident) => {
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_map(MapVisitor::<Self>(PhantomData))
            }
        }
    };
}

macro_rules! model {
    (
        $(#[$doc:meta])*
        $name:ident {
            $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),* $(,)?
        }
        $( secret { $( $(#[$sdoc:meta])* $sfield:ident ),* $(,)? } )?
    ) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Default, Serialize)]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$fdoc])* pub $field: $ty, )*
            $( $( $(#[$sdoc])* pub $sfield: Option<String>, )* )?
            /// Fields of the reply that this type does not name, kept as they came.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }

        from_map!($name { $( $field: $ty, )* $( $( $sfield: Option<String>, )* )? });
        deserialize_from_map!($name);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut s = f.debug_struct(stringify!($name));
                $( s.field(stringify!($field), &self.$field); )*
                $( $( s.field(stringify!($sfield), &self.$sfield.as_ref().map(|_| crate::redact::Redacted)); )* )?
                if !self.extra.is_empty() {
                    let mut extra = Value::Object(self.extra.clone());
                    crate::redact::scrub_value(&mut extra);
                    s.field("extra", &extra);
                }
                s.finish()
            }
        }
    };
}

model! {
    /// A user, as `get_user_data`, `add_user`, `update_user_data` and group listings return it.
    /// Custom values set with `update_user_data` arrive in `extra`.
    User {
        /// User identifier.
        id: String,
        /// Email address.
        email: Option<String>,
        /// Display name.
        full_name: Option<String>,
        /// Server role (`admin`, `user`, `demo`, `reader`); see [`User::server_role`].
        role: Option<String>,
        /// Permissions of the role.
        role_permissions: Vec<String>,
        /// The user's tenant.
        tenant: Option<String>,
        /// Groups the user belongs to, when the server includes them.
        groups: Option<Vec<Value>>,
        /// Projects of the user, when asked for with `include_projects`.
        projects: Option<Vec<Value>>,
    }
}

impl User {
    /// The server role, typed; `None` when absent. A role this version does not know is
    /// [`ServerRole::Other`](crate::ServerRole::Other).
    pub fn server_role(&self) -> Option<crate::ServerRole> {
        self.role.as_deref().map(crate::ServerRole::from_wire)
    }
}

model! {
    /// The reply of `get_users`.
    UserList {
        /// The users of the tenant.
        users: Vec<User>,
    }
}

model! {
    /// A group and its members.
    Group {
        /// Group identifier.
        id: String,
        /// Group name.
        name: Option<String>,
        /// Members of the group.
        members: Vec<User>,
        /// Projects of the group, when asked for with `include_projects`.
        projects: Option<Vec<Value>>,
    }
}

model! {
    /// A user or group in a project.
    ProjectMember {
        /// Identifier of the user or group.
        member_id: String,
        /// `user` or `group`.
        member_type: Option<String>,
        /// Email address (users).
        email: Option<String>,
        /// Display name (users).
        full_name: Option<String>,
        /// Server role of a user.
        server_role: Option<String>,
        /// Role in the project (`reader`, `member`, `admin`); see [`ProjectMember::role`].
        project_role: Option<String>,
        /// Project identifier.
        project_id: Option<String>,
        /// Permissions the member has in the project.
        permissions: Vec<String>,
    }
}

impl ProjectMember {
    /// The project role, typed; `None` when absent. A role this version does not know is
    /// [`ProjectRole::Other`](crate::ProjectRole::Other).
    pub fn role(&self) -> Option<crate::ProjectRole> {
        self.project_role
            .as_deref()
            .map(crate::ProjectRole::from_wire)
    }
}

model! {
    /// The reply of `get_project_members`.
    ProjectMemberList {
        /// The members.
        members: Vec<ProjectMember>,
    }
}

model! {
    /// An external authentication of a user with a service.
    Authentication {
        /// When the access secret expires (`%Y-%m-%dT%H:%M:%S`).
        access_secret_expires: Option<String>,
        /// When the access token expires.
        access_token_expires: Option<String>,
        /// The service user's display name.
        display_name: Option<String>,
        /// The service user's identifier.
        service_user: Option<String>,
        /// State of the authentication (`ok`, ...).
        state: Option<String>,
    }
    secret {
        /// The service access token (redacted in `Debug`).
        access_token,
        /// The service access secret (redacted in `Debug`).
        access_secret,
    }
}

model! {
    /// One grant of a user.
    Grant {
        /// Grant identifier.
        id: String,
        /// `user` or `service`.
        r#type: Option<String>,
        /// Creation time, as the server writes it.
        created_at: Option<String>,
        /// Expiry, as the server writes it.
        valid_to: Option<String>,
    }
}

model! {
    /// The reply of `get_user_grants`.
    GrantList {
        /// The grants.
        grants: Vec<Grant>,
    }
}

model! {
    /// The reply of `new_grant`: its id and the refresh token that authenticates with it.
    NewGrant {
        /// Grant identifier.
        id: String,
    }
    secret {
        /// The grant's refresh token (redacted in `Debug`).
        refresh_token,
    }
}

model! {
    /// The data of a session (the server's fields are kept in `extra`).
    Session {
        /// Session identifier, when the server includes it.
        id: Option<String>,
    }
}

model! {
    /// The password policy of the tenant (the server's fields are kept in `extra`).
    PasswordPolicy {}
}

model! {
    /// The reply of the MS Exchange token methods.
    MsExchangeToken {
        /// The Squirro user id.
        user_id: Option<String>,
    }
    secret {
        /// The OAuth2 token (redacted in `Debug`).
        oauth2_token,
    }
}

model! {
    /// The reply of `signup`.
    SignupResult {
        /// The new user's id.
        user_id: String,
        /// The user's tenant.
        tenant: Option<String>,
    }
}

model! {
    /// A workspace.
    Workspace {
        /// The workspace's domain, its identifier.
        domain: String,
        /// Its title.
        title: Option<String>,
        /// Its projects, when asked for with `include_projects`.
        projects: Option<Vec<Value>>,
    }
}

model! {
    /// A user of a workspace.
    WorkspaceUser {
        /// User identifier.
        id: String,
        /// Email address.
        email: Option<String>,
        /// Role in the workspace.
        role: Option<String>,
        /// Display name.
        full_name: Option<String>,
    }
}

model! {
    /// One entry of the reply of `add_workspace_users` and `set_workspace_user_role`.
    WorkspaceMembership {
        /// User identifier.
        user_id: String,
        /// The workspace's domain.
        workspace: Option<String>,
    }
}

/// The reply of `get_workspaces`. The API documents a bare list, the Python client reads
/// `reply["workspaces"]`: both decode, and `extra` keeps the other fields of the object form.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct WorkspaceList {
    /// The workspaces.
    pub workspaces: Vec<Workspace>,
    /// Other fields of an object reply.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

from_map!(WorkspaceList {
    workspaces: Vec<Workspace>
});

impl<'de> Deserialize<'de> for WorkspaceList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> Visitor<'de> for Either {
            type Value = WorkspaceList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of workspaces or an object with `workspaces`")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<WorkspaceList, A::Error> {
                Ok(WorkspaceList {
                    workspaces: List(PhantomData).visit_seq(seq)?,
                    extra: Map::new(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<WorkspaceList, A::Error> {
                WorkspaceList::from_map(map)
            }
        }
        d.deserialize_any(Either)
    }
}

/// What the token endpoint says about a session, kept by the client after
/// [`authenticate`](crate::Client::authenticate) (tokens are not part of it).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The user the tokens belong to.
    pub user_id: Option<String>,
    /// The tenant.
    pub tenant: Option<String>,
    /// The session id.
    pub session_id: Option<String>,
    /// The user's server role.
    pub role: Option<String>,
    /// Permissions of the role.
    pub role_permissions: Vec<String>,
    /// Project permissions of the token, when it is restricted.
    pub project_permissions: Option<Value>,
    /// The `user_information` the server keeps for the session.
    pub user_information: Option<Value>,
    /// Other fields of the token reply (tokens removed).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

from_map!(SessionInfo {
    user_id: Option<String>,
    tenant: Option<String>,
    session_id: Option<String>,
    role: Option<String>,
    role_permissions: Vec<String>,
    project_permissions: Option<Value>,
    user_information: Option<Value>,
});
deserialize_from_map!(SessionInfo);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_and_nulls_default() {
        let u: User = serde_json::from_str(
            r#"{"id":"u1","email":null,"role_permissions":null,"favourite":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(u.id, "u1");
        assert_eq!(u.email, None);
        assert!(u.role_permissions.is_empty());
        assert_eq!(u.extra["favourite"], serde_json::json!({"x": 1}));
        let back = serde_json::to_value(&u).unwrap();
        assert_eq!(back["favourite"]["x"], 1);
    }

    #[test]
    fn unknown_fields_keep_their_order_and_write_back_as_they_came() {
        let body = r#"{"zeta":1,"id":"u1","email":"a@b","alpha":[1,{"b":2,"a":1}],"mid":null}"#;
        let u: User = serde_json::from_str(body).unwrap();
        assert_eq!(u.extra.keys().collect::<Vec<_>>(), ["zeta", "alpha", "mid"]);
        // Named fields in declaration order, then `extra` in the reply's order.
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"id":"u1","email":"a@b","full_name":null,"role":null,"role_permissions":[],"tenant":null,"groups":null,"projects":null,"zeta":1,"alpha":[1,{"b":2,"a":1}],"mid":null}"#
        );
        // A round trip changes nothing.
        let again: User = serde_json::from_str(&serde_json::to_string(&u).unwrap()).unwrap();
        assert_eq!(again, u);
        // An escaped key is the field it spells; a raw identifier's field has its wire name.
        let u: User = serde_json::from_str(r#"{"\u0069d":"u2"}"#).unwrap();
        assert_eq!(u.id, "u2");
        let g: Grant = serde_json::from_str(r#"{"id":"g","type":"user","r#type":1}"#).unwrap();
        assert_eq!(g.r#type.as_deref(), Some("user"));
        assert_eq!(g.extra["r#type"], 1);
    }

    #[test]
    fn required_fields_must_be_there() {
        fn error<T: serde::de::DeserializeOwned + fmt::Debug>(body: &str) -> String {
            serde_json::from_str::<T>(body).unwrap_err().to_string()
        }
        for e in [
            error::<User>("{}"),
            error::<User>(r#"{"email":"a@b","x":1}"#),
            error::<Group>(r#"{"name":"g"}"#),
            error::<Grant>(r#"{"type":"user"}"#),
            error::<NewGrant>(r#"{"refresh_token":"t"}"#),
            error::<WorkspaceUser>("{}"),
            error::<UserList>(r#"{"users":[{"id":"a"},{"email":"b"}]}"#),
            error::<Vec<Group>>(r#"[{"id":"g","members":[{"email":"b"}]}]"#),
        ] {
            assert!(e.starts_with("missing field `id`"), "{e}");
        }
        assert!(error::<ProjectMember>("{}").starts_with("missing field `member_id`"));
        assert!(error::<SignupResult>("{}").starts_with("missing field `user_id`"));
        assert!(error::<WorkspaceMembership>("{}").starts_with("missing field `user_id`"));
        assert!(error::<Workspace>(r#"{"title":"t"}"#).starts_with("missing field `domain`"));
        assert!(error::<WorkspaceList>(r#"[{"title":"t"}]"#).starts_with("missing field `domain`"));
        // `null` is not an id either.
        assert!(error::<User>(r#"{"id":null}"#).contains("invalid type: null"));
        // Models with no required field still decode from `{}`.
        assert!(
            serde_json::from_str::<UserList>("{}")
                .unwrap()
                .users
                .is_empty()
        );
        assert!(serde_json::from_str::<Session>("{}").unwrap().id.is_none());
        assert!(serde_json::from_str::<SessionInfo>("{}").is_ok());
        assert!(serde_json::from_str::<Authentication>("{}").is_ok());
        assert!(serde_json::from_str::<PasswordPolicy>("{}").is_ok());
        assert!(serde_json::from_str::<MsExchangeToken>("{}").is_ok());
    }

    #[test]
    fn duplicates_and_wrong_shapes() {
        let e = serde_json::from_str::<User>(r#"{"id":"a","id":"b"}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate field `id`"), "{e}");
        // An unknown field twice: the last value, at the first place (as serde's flatten did).
        let u: User = serde_json::from_str(r#"{"x":1,"id":"a","x":2}"#).unwrap();
        assert_eq!(u.extra["x"], 2);
        let e = serde_json::from_str::<User>(r#"["a"]"#).unwrap_err();
        assert!(e.to_string().contains("expected struct User"), "{e}");
        assert!(serde_json::from_str::<User>(r#"{"role_permissions":"admin"}"#).is_err());
        assert!(serde_json::from_str::<UserList>(r#"{"users":[{"id":5}]}"#).is_err());
    }

    #[test]
    fn many_unknown_fields_keep_their_order() {
        // More than `Extras` keeps inline, with a name twice across the two parts.
        let mut body = String::from(r#"{"id":"u""#);
        for i in 0..20 {
            body.push_str(&format!(r#","f{i}":{i}"#));
        }
        body.push_str(r#","f3":"again"}"#);
        let u: User = serde_json::from_str(&body).unwrap();
        let keys: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
        assert_eq!(
            u.extra.keys().collect::<Vec<_>>(),
            keys.iter().collect::<Vec<_>>()
        );
        assert_eq!(u.extra["f3"], "again");
        assert_eq!(u.extra["f19"], 19);
    }

    #[test]
    fn session_info_keeps_unknown_fields() {
        let s: SessionInfo = serde_json::from_str(
            r#"{"user_id":"u","role_permissions":null,"expires_in":3600,"user_information":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(s.user_id.as_deref(), Some("u"));
        assert!(s.role_permissions.is_empty());
        assert_eq!(s.user_information, Some(serde_json::json!({"a": 1})));
        assert_eq!(s.extra["expires_in"], 3600);
    }

    #[test]
    fn workspaces_both_shapes() {
        let a: WorkspaceList = serde_json::from_str(r#"[{"domain":"a","title":"A"}]"#).unwrap();
        let b: WorkspaceList =
            serde_json::from_str(r#"{"workspaces":[{"domain":"a","title":"A"}],"total":1}"#)
                .unwrap();
        assert_eq!(a.workspaces, b.workspaces);
        assert_eq!(b.extra["total"], 1);
        assert!(serde_json::from_str::<WorkspaceList>("3").is_err());
    }

    #[test]
    fn secrets_redacted_in_debug() {
        let g: NewGrant = serde_json::from_str(r#"{"id":"g","refresh_token":"s3cr3t"}"#).unwrap();
        assert_eq!(g.refresh_token.as_deref(), Some("s3cr3t"));
        assert!(!format!("{g:?}").contains("s3cr3t"));
        let s: Session = serde_json::from_str(r#"{"access_token":"s3cr3t"}"#).unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }
}
