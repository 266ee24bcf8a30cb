//! Rendering: the tera templates of `codegen/templates/scaffold/` turned into a new file,
//! an impl block or methods, laid out as rustfmt would.

use serde::Serialize;

use super::ScaffoldError;
use super::plan::{MethodSpec, Paths, Target, Unit};
use crate::model;

/// rustfmt's default `max_width`: longer signatures get one parameter per line, as rustfmt
/// would write them, so a first `cargo fmt` leaves the scaffold alone.
const MAX_WIDTH: usize = 100;

const TEMPLATES: &[(&str, &str)] = &[
    ("mod", include_str!("../../templates/scaffold/mod.rs.tera")),
    (
        "aggregate",
        include_str!("../../templates/scaffold/aggregate.rs.tera"),
    ),
    (
        "handler",
        include_str!("../../templates/scaffold/handler.rs.tera"),
    ),
    (
        "process",
        include_str!("../../templates/scaffold/process.rs.tera"),
    ),
    (
        "read_model",
        include_str!("../../templates/scaffold/read_model.rs.tera"),
    ),
    (
        "impl",
        include_str!("../../templates/scaffold/impl.rs.tera"),
    ),
    (
        "method",
        include_str!("../../templates/scaffold/method.rs.tera"),
    ),
];

pub(super) struct Templates {
    tera: tera::Tera,
}

#[derive(Serialize)]
struct MethodContext<'a> {
    doc: &'a [String],
    asynchronous: bool,
    name: &'a str,
    params: &'a [String],
    ret: Option<&'a str>,
    body: &'a str,
    wrap: bool,
}

impl Templates {
    pub(super) fn new() -> Result<Self, ScaffoldError> {
        let mut tera = tera::Tera::default();
        tera.autoescape_on(Vec::new());
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .map_err(|e| template_error("scaffold", &e))?;
        Ok(Templates { tera })
    }

    fn render(&self, name: &str, context: &tera::Context) -> Result<String, ScaffoldError> {
        self.tera
            .render(name, context)
            .map_err(|e| template_error(name, &e))
    }

    /// One method, every line prefixed with `indent`, no trailing newline.
    fn method(&self, spec: &MethodSpec, indent: &str) -> Result<String, ScaffoldError> {
        let one_line = format!(
            "{indent}{}fn {}({}){} {{",
            if spec.asynchronous { "async " } else { "" },
            spec.name,
            spec.params.join(", "),
            spec.ret
                .as_deref()
                .map(|r| format!(" -> {r}"))
                .unwrap_or_default()
        );
        let context = MethodContext {
            doc: &spec.doc,
            asynchronous: spec.asynchronous,
            name: &spec.name,
            params: &spec.params,
            ret: spec.ret.as_deref(),
            body: &spec.body,
            wrap: one_line.chars().count() > MAX_WIDTH,
        };
        let context =
            tera::Context::from_serialize(context).map_err(|e| template_error("method", &e))?;
        Ok(indent_lines(
            self.render("method", &context)?.trim_end(),
            indent,
        ))
    }

    /// Methods separated by blank lines.
    pub(super) fn methods(
        &self,
        specs: &[&MethodSpec],
        indent: &str,
    ) -> Result<String, ScaffoldError> {
        let rendered = specs
            .iter()
            .map(|s| self.method(s, indent))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rendered.join("\n\n"))
    }

    pub(super) fn impl_block(&self, unit: &Unit, paths: &Paths) -> Result<String, ScaffoldError> {
        let specs = unit.methods(paths);
        let mut context = tera::Context::new();
        context.insert("trait_name", &unit.trait_type(paths));
        context.insert("self_type", &unit.self_type(paths));
        context.insert(
            "methods",
            &self.methods(&specs.iter().collect::<Vec<_>>(), "    ")?,
        );
        Ok(self.render("impl", &context)?.trim_end().to_string())
    }

    pub(super) fn read_model(&self, unit: &Unit) -> Result<String, ScaffoldError> {
        let mut context = tera::Context::new();
        context.insert("name", &unit.self_name());
        context.insert("handler", unit.name());
        let projection =
            matches!(&unit.target, Target::Handler(h) if h.kind == model::HandlerKind::Projection);
        context.insert("projection", &projection);
        Ok(self.render("read_model", &context)?.trim_end().to_string())
    }

    pub(super) fn new_file(&self, unit: &Unit) -> Result<String, ScaffoldError> {
        let paths = Paths {
            context: unit.context,
            glob: true,
        };
        let mut context = tera::Context::new();
        context.insert("name", unit.name());
        context.insert("context", unit.context);
        context.insert("impl_block", &self.impl_block(unit, &paths)?);
        if let Target::Handler(_) = unit.target {
            context.insert("read_model", &self.read_model(unit)?);
        }
        let template = match unit.target {
            Target::Aggregate(_) => "aggregate",
            Target::Handler(_) => "handler",
            Target::Process(_) => "process",
        };
        Ok(format!("{}\n", self.render(template, &context)?.trim_end()))
    }

    pub(super) fn mod_file(&self, stems: &[&str]) -> Result<String, ScaffoldError> {
        // Sorted, as rustfmt would reorder them.
        let mut sorted = stems.to_vec();
        sorted.sort_unstable();
        let mods: Vec<String> = sorted.iter().map(|s| module_ident(s)).collect();
        let mut context = tera::Context::new();
        context.insert("mods", &mods);
        Ok(format!("{}\n", self.render("mod", &context)?.trim_end()))
    }
}

fn template_error(name: &str, e: &dyn std::error::Error) -> ScaffoldError {
    ScaffoldError::Template {
        name: name.to_string(),
        message: crate::template::error_chain(e),
    }
}

fn indent_lines(text: &str, indent: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{indent}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `type` -> `r#type`: file stems are module names, and schema names may snake-case to a
/// keyword (`mod r#type;` still loads `type.rs`).
pub(super) fn module_ident(stem: &str) -> String {
    if syn::parse_str::<syn::Ident>(stem).is_ok() {
        stem.to_string()
    } else {
        format!("r#{stem}")
    }
}
