//! `TestScript.variable`: values computed when used (a variable may read a
//! response that did not exist at the start), and `${name}` substitution.

use crate::expression;
use crate::fixtures::Fixture;
use crate::script::Variable;
use crate::state::State;

/// Why a variable has no value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VariableError {
    /// `${name}` for a variable the script does not declare.
    #[error("${{{0}}} is not a variable of the script")]
    Unknown(String),
    /// Nothing gives the variable a value.
    #[error("variable {name} has no value{hint}; give one with --variable {name}=VALUE")]
    NoValue {
        /// The variable.
        name: String,
        /// `(hint: ...)` when the script has one.
        hint: String,
    },
    /// The variable's source fixture does not exist (yet).
    #[error("variable {name}: no fixture or response {source_id} (yet)")]
    NoSource {
        /// The variable.
        name: String,
        /// The source id.
        source_id: String,
    },
    /// Its expression failed.
    #[error("variable {name}: {source}")]
    Expression {
        /// The variable.
        name: String,
        /// Why.
        source: expression::ExpressionError,
    },
    /// `${` without `}`.
    #[error("unterminated ${{ in {0:?}")]
    Unterminated(String),
}

/// `text` with every `${name}` replaced by the variable's current value.
pub fn substitute(text: &str, state: &State<'_>) -> Result<String, VariableError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| VariableError::Unterminated(text.to_owned()))?;
        out.push_str(&value(&after[..end], state)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The current value of variable `name`.
pub fn value(name: &str, state: &State<'_>) -> Result<String, VariableError> {
    if let Some(given) = state.overrides.get(name) {
        return Ok(given.clone());
    }
    let variable = state
        .script
        .variable
        .iter()
        .find(|v| v.name == name)
        .ok_or_else(|| VariableError::Unknown(name.to_owned()))?;
    computed(variable, state)?
        .filter(|value| !value.is_empty())
        .or_else(|| variable.default_value.clone())
        .ok_or_else(|| VariableError::NoValue {
            name: name.to_owned(),
            hint: variable
                .hint
                .as_ref()
                .map(|h| format!(" (hint: {h})"))
                .unwrap_or_default(),
        })
}

/// The value from the variable's header, expression or path; `None` when
/// it has none of those or the source lacks it.
fn computed(variable: &Variable, state: &State<'_>) -> Result<Option<String>, VariableError> {
    let expression = variable
        .expression
        .clone()
        .or_else(|| variable.path.as_deref().map(expression::from_path));
    if variable.header_field.is_none() && expression.is_none() {
        return Ok(None);
    }
    let source: Option<&Fixture> = match &variable.source_id {
        Some(id) => Some(state.fixtures.get(id).ok_or_else(|| VariableError::NoSource {
            name: variable.name.clone(),
            source_id: id.clone(),
        })?),
        None => state.last.as_ref().and_then(|last| last.response.as_ref()),
    };
    let Some(source) = source else {
        return Ok(None);
    };
    if let Some(field) = &variable.header_field {
        return Ok(source.header(field).map(str::to_owned));
    }
    let (Some(expression), Some(resource)) = (expression, &source.resource) else {
        return Ok(None);
    };
    let substituted = substitute(&expression, state)?;
    let values = expression::evaluate(&substituted, resource).map_err(|source| VariableError::Expression {
        name: variable.name.clone(),
        source,
    })?;
    Ok(expression::texts(&values).into_iter().next())
}
