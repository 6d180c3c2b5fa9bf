//! Request failures as Kubernetes `Status` objects (kind Status, apiVersion v1), the shape
//! kubectl and client libraries parse to print "Error from server (Reason): message".

use serde_json::{json, Value};

/// One failure cause, e.g. the field that failed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    pub reason: &'static str,
    pub field: String,
    pub message: String,
}

/// A failed request: the HTTP code, the `reason` and a message that says how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// `details`: the object concerned (`kind`, `name`) and causes.
    pub kind: Option<String>,
    pub name: Option<String>,
    pub causes: Vec<Cause>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            kind: None,
            name: None,
            causes: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn not_found(resource: &str, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{resource} \"{name}\" not found"))
            .with_details(resource, name)
    }

    pub fn already_exists(resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{resource} \"{name}\" already exists"),
        )
        .with_details(resource, name)
    }

    /// A compare-and-swap lost: the object changed since the client read it.
    pub fn conflict(resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {resource} \"{name}\": the object has been \
                 modified; please apply your changes to the latest version and try again"
            ),
        )
        .with_details(resource, name)
    }

    /// 422 with one cause per invalid field, worded like the Kubernetes validators.
    pub fn invalid(kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let list: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let message = if list.len() == 1 {
            format!("{kind} \"{name}\" is invalid: {}", list[0])
        } else {
            format!("{kind} \"{name}\" is invalid: [{}]", list.join(", "))
        };
        let mut err = Self::new(422, "Invalid", message).with_details(kind, name);
        err.causes = causes;
        err
    }

    /// The watch or list asked for history the store no longer keeps.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow the method {method} on {path}"),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    pub fn with_details(mut self, kind: &str, name: &str) -> Self {
        self.kind = Some(kind.to_string());
        self.name = Some(name.to_string());
        self
    }

    /// The `Status` body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if self.kind.is_some() || !self.causes.is_empty() {
            let mut details = serde_json::Map::new();
            if let Some(name) = &self.name {
                details.insert("name".into(), json!(name));
            }
            if let Some(kind) = &self.kind {
                details.insert("kind".into(), json!(kind));
            }
            if !self.causes.is_empty() {
                let causes: Vec<Value> = self
                    .causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect();
                details.insert("causes".into(), Value::Array(causes));
            }
            status["details"] = Value::Object(details);
        }
        status
    }
}

impl From<skiff_store::StoreError> for ApiError {
    fn from(e: skiff_store::StoreError) -> Self {
        use skiff_store::StoreError as S;
        match &e {
            S::Compacted { .. } => ApiError::expired(format!("too old resource version: {e}")),
            S::FutureRevision { .. } => {
                ApiError::new(504, "Timeout", format!("Too large resource version: {e}"))
            }
            S::RequestTooLarge { .. } => ApiError::new(413, "RequestEntityTooLarge", e.to_string()),
            _ => ApiError::internal(format!("storage error: {e}")),
        }
    }
}
