//! The form model handed to page templates: fields with their label, type, value,
//! `autocomplete` hint and errors, the way WTForms hands its forms to Flask-Security's
//! templates.

use serde::Serialize;
use serde_json::{Map, Value};

/// One field of a form, as templates see it (`login_user_form.email.errors` …).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Field {
    /// The `id` attribute (the name, as WTForms does).
    pub id: String,
    /// The `name` attribute: the field Rampart reads.
    pub name: String,
    /// The `<label>` text.
    pub label: String,
    /// The `type` attribute: `email`, `text`, `password`, `checkbox`, `hidden`, `submit` …
    #[serde(rename = "type")]
    pub kind: String,
    /// The value to show (never a password: templates do not echo `password` fields).
    pub value: String,
    /// The `autocomplete` hint for browsers and password managers (`username`,
    /// `current-password`, `new-password`, `one-time-code` …).
    pub autocomplete: Option<String>,
    /// The `inputmode` hint (`numeric` for codes).
    pub inputmode: Option<String>,
    /// The `required` attribute.
    pub required: bool,
    /// The `readonly` attribute.
    pub readonly: bool,
    /// A checkbox's state.
    pub checked: bool,
    /// This field's error messages.
    pub errors: Vec<String>,
    /// A radio group's options (WTForms' `RadioField` subfields), empty for other fields.
    pub choices: Vec<Choice>,
}

/// One option of a radio group: the value posted, its label, whether it is selected.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Choice {
    /// The `id` of its input (`NAME-0`, `NAME-1` …, as WTForms numbers subfields).
    pub id: String,
    /// The value posted when it is chosen.
    pub value: String,
    /// Its `<label>` text.
    pub label: String,
    /// Whether it is selected.
    pub checked: bool,
}

impl Field {
    fn new(name: &str, label: &str, kind: &str) -> Self {
        Self {
            id: name.to_owned(),
            name: name.to_owned(),
            label: label.to_owned(),
            kind: kind.to_owned(),
            value: String::new(),
            autocomplete: None,
            inputmode: None,
            required: false,
            readonly: false,
            checked: false,
            errors: Vec::new(),
            choices: Vec::new(),
        }
    }

    /// A required `email` input named `email` (`autocomplete="email"`).
    pub fn email(label: &str, value: &str) -> Self {
        Self::new("email", label, "email")
            .value(value)
            .autocomplete("email")
            .required()
    }

    /// The address that identifies the account on a sign-in form (`autocomplete="username"`,
    /// so password managers save and fill it with the password).
    pub fn identity_email(label: &str, value: &str) -> Self {
        Self::email(label, value).autocomplete("username")
    }

    /// A required password input with its `autocomplete` hint (`current-password` or
    /// `new-password`).
    pub fn password(name: &str, label: &str, autocomplete: &str) -> Self {
        Self::new(name, label, "password")
            .autocomplete(autocomplete)
            .required()
    }

    /// A text input.
    pub fn text(name: &str, label: &str, value: &str) -> Self {
        Self::new(name, label, "text").value(value)
    }

    /// A one-time code input (`autocomplete="one-time-code"`, numeric keyboard).
    pub fn code(name: &str, label: &str) -> Self {
        let mut f = Self::new(name, label, "text")
            .autocomplete("one-time-code")
            .required();
        f.inputmode = Some("numeric".to_owned());
        f
    }

    /// A checkbox (submitted as `y` when checked).
    pub fn checkbox(name: &str, label: &str, checked: bool) -> Self {
        let mut f = Self::new(name, label, "checkbox");
        f.checked = checked;
        f
    }

    /// A radio group: one input per `(value, label)`, `selected` checked (templates render it
    /// as a `<fieldset>` with the field's label as its legend).
    pub fn radio(
        name: &str,
        label: &str,
        choices: &[(&str, &str)],
        selected: Option<&str>,
    ) -> Self {
        let mut f = Self::new(name, label, "radio");
        f.choices = choices
            .iter()
            .enumerate()
            .map(|(i, (value, label))| Choice {
                id: format!("{name}-{i}"),
                value: (*value).to_owned(),
                label: (*label).to_owned(),
                checked: selected == Some(*value),
            })
            .collect();
        f
    }

    /// A hidden input, rendered by the `hidden_tag` macro with the CSRF field.
    pub fn hidden(name: &str, value: &str) -> Self {
        Self::new(name, "", "hidden").value(value)
    }

    /// The submit button.
    pub fn submit(label: &str) -> Self {
        Self::new("submit", label, "submit")
    }

    /// Sets the value.
    #[must_use]
    pub fn value(mut self, value: &str) -> Self {
        value.clone_into(&mut self.value);
        self
    }

    /// Sets the `autocomplete` hint.
    #[must_use]
    pub fn autocomplete(mut self, hint: &str) -> Self {
        self.autocomplete = Some(hint.to_owned());
        self
    }

    /// Marks the field required.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Marks the field read-only.
    #[must_use]
    pub fn readonly(mut self) -> Self {
        self.readonly = true;
        self
    }
}

/// A form: its fields (by name) and the errors that belong to no field.
#[derive(Debug, Clone, Default)]
pub struct Form {
    fields: Vec<Field>,
    form_errors: Vec<String>,
}

impl Form {
    /// An empty form. Every form also gets a `csrf_token` entry (its errors are CSRF
    /// failures) and the CSRF hidden input from the `hidden_tag` macro.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field.
    #[must_use]
    pub fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }

    /// Adds the submit button.
    #[must_use]
    pub fn submit(self, label: &str) -> Self {
        self.field(Field::submit(label))
    }

    /// Files errors `(field name, message)` under their field; the form-level ones (`""`) and
    /// those of fields the form does not show (such as `next`) go to `form_errors`.
    #[must_use]
    pub fn errors<'a, I, S>(mut self, errors: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, S)>,
        S: Into<String>,
    {
        for (name, message) in errors {
            let message = message.into();
            match self
                .fields
                .iter_mut()
                .find(|f| f.name == name && f.kind != "hidden")
            {
                Some(f) => f.errors.push(message),
                None if name == "csrf_token" => {
                    self.fields.push(Field {
                        errors: vec![message],
                        ..Field::new("csrf_token", "", "csrf")
                    });
                }
                None => self.form_errors.push(message),
            }
        }
        self
    }

    /// Whether any field or the form has an error.
    pub fn has_errors(&self) -> bool {
        !self.form_errors.is_empty() || self.fields.iter().any(|f| !f.errors.is_empty())
    }

    /// The template value: each field under its name, `form_errors`, `hidden` (the names
    /// of the hidden fields) and `errors` (every message, as WTForms' flat list).
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        let mut hidden = Vec::new();
        let mut all: Vec<Value> = Vec::new();
        for f in &self.fields {
            if f.kind == "hidden" {
                hidden.push(Value::String(f.name.clone()));
            }
            all.extend(f.errors.iter().cloned().map(Value::String));
            map.insert(
                f.name.clone(),
                serde_json::to_value(f).unwrap_or(Value::Null),
            );
        }
        all.extend(self.form_errors.iter().cloned().map(Value::String));
        map.insert("hidden".to_owned(), Value::Array(hidden));
        map.insert(
            "form_errors".to_owned(),
            Value::Array(
                self.form_errors
                    .iter()
                    .cloned()
                    .map(Value::String)
                    .collect(),
            ),
        );
        map.insert("errors".to_owned(), Value::Array(all));
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_filed_under_their_field() {
        let form = Form::new()
            .field(Field::identity_email("Email Address", "a@b.c"))
            .field(Field::password("password", "Password", "current-password"))
            .field(Field::hidden("next", "/x"))
            .submit("Login")
            .errors([
                ("password", "Invalid password"),
                ("next", "Invalid redirect"),
                ("", "Generic"),
                ("csrf_token", "The CSRF token is missing."),
            ]);
        assert!(form.has_errors());
        let v = form.to_value();
        assert_eq!(v["password"]["errors"][0], "Invalid password");
        assert_eq!(v["password"]["autocomplete"], "current-password");
        assert_eq!(v["email"]["autocomplete"], "username");
        assert_eq!(v["email"]["type"], "email");
        assert_eq!(v["form_errors"][0], "Invalid redirect");
        assert_eq!(v["form_errors"][1], "Generic");
        assert_eq!(v["csrf_token"]["errors"][0], "The CSRF token is missing.");
        assert_eq!(v["hidden"][0], "next");
        assert_eq!(v["errors"].as_array().map(Vec::len), Some(4));
        assert!(!Form::new().field(Field::code("code", "Code")).has_errors());
        let r = Field::radio(
            "setup",
            "Method",
            &[("email", "By email"), ("sms", "By SMS")],
            Some("sms"),
        );
        let v = Form::new().field(r).to_value();
        assert_eq!(v["setup"]["type"], "radio");
        assert_eq!(v["setup"]["choices"][1]["id"], "setup-1");
        assert_eq!(v["setup"]["choices"][1]["checked"], true);
        assert_eq!(v["setup"]["choices"][0]["checked"], false);
        assert_eq!(
            Field::code("code", "Code").autocomplete.as_deref(),
            Some("one-time-code")
        );
    }
}
