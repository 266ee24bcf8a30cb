//! Field types: parsing the type text, resolving declared and cross-context names,
//! recursion through declared types, and whether a YAML value fits a type (defaults,
//! `one_of`, upcast `add`).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value as Json;

use super::Symbols;
use super::names::did_you_mean;
use crate::diag::Sink;
use crate::model::TypeRef;
use crate::raw::{Loc, Name, Node, Value};

const BUILTINS: &[&str] = &[
    "String", "bool", "i32", "i64", "u32", "u64", "f64", "Uuid", "DateTime", "Decimal", "Json",
];
const GENERICS: &[&str] = &["Option", "Vec", "Map"];

/// Common spellings from other languages, mapped to ours.
const ALIASES: &[(&str, &str)] = &[
    ("int", "i64"),
    ("integer", "i64"),
    ("long", "i64"),
    ("i8", "i32"),
    ("i16", "i32"),
    ("u8", "u32"),
    ("u16", "u32"),
    ("usize", "u64"),
    ("isize", "i64"),
    ("i128", "i64"),
    ("u128", "u64"),
    ("f32", "f64"),
    ("float", "f64"),
    ("double", "f64"),
    ("number", "f64"),
    ("str", "String"),
    ("string", "String"),
    ("text", "String"),
    ("char", "String"),
    ("boolean", "bool"),
    ("Bool", "bool"),
    ("uuid", "Uuid"),
    ("UUID", "Uuid"),
    ("datetime", "DateTime"),
    ("timestamp", "DateTime"),
    ("Timestamp", "DateTime"),
    ("date", "DateTime"),
    ("decimal", "Decimal"),
    ("money", "Decimal"),
    ("json", "Json"),
    ("Value", "Json"),
    ("object", "Json"),
    ("list", "Vec"),
    ("List", "Vec"),
    ("array", "Vec"),
    ("Array", "Vec"),
    ("HashMap", "Map"),
    ("BTreeMap", "Map"),
    ("map", "Map"),
    ("dict", "Map"),
    ("Optional", "Option"),
    ("option", "Option"),
    ("Maybe", "Option"),
];

/// A parsed type text: `ctx.Name<args>`.
#[derive(Debug, Clone, PartialEq)]
struct Ast {
    ctx: Option<String>,
    name: String,
    args: Vec<Ast>,
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        self.skip_ws();
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
        {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(match self.chars.get(self.pos) {
                Some(c) => format!("expected a type name at `{c}` (character {})", self.pos + 1),
                None => "expected a type name at the end".to_string(),
            });
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.chars.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn ty(&mut self, depth: usize) -> Result<Ast, String> {
        if depth > 32 {
            return Err("type is nested too deeply".into());
        }
        let first = self.ident()?;
        let (ctx, name) = if self.eat('.') {
            (Some(first), self.ident()?)
        } else {
            (None, first)
        };
        if self.eat('.') {
            return Err("a type name has at most one `.` (`context.Type`)".into());
        }
        let mut args = Vec::new();
        if self.eat('<') {
            loop {
                args.push(self.ty(depth + 1)?);
                if self.eat(',') {
                    continue;
                }
                if self.eat('>') {
                    break;
                }
                return Err(format!("expected `,` or `>` in `{}`", self.text));
            }
        }
        Ok(Ast { ctx, name, args })
    }
}

fn parse(text: &str) -> Result<Ast, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        text,
    };
    let ast = p.ty(0)?;
    p.skip_ws();
    if let Some(c) = p.chars.get(p.pos) {
        return Err(format!(
            "unexpected `{c}` after the type (character {})",
            p.pos + 1
        ));
    }
    Ok(ast)
}

/// At most this many declared types are listed in "a field type is one of ...": a file
/// with thousands of types would otherwise print them all in every such error. The hint
/// names the closest one.
const LISTED_TYPES: usize = 8;

/// What a field type may be, naming the declared types of the context (the first
/// [`LISTED_TYPES`] and how many more there are).
fn allowed(local_types: &[String]) -> String {
    let mut s = String::from(
        "String, bool, i32, i64, u32, u64, f64, Uuid, DateTime, Decimal, Json, Option<T>, Vec<T>, Map<String, T>",
    );
    if local_types.is_empty() {
        s.push_str(", a type declared under `types:`");
    } else {
        s.push_str(", a type declared under `types:` (");
        s.push_str(&local_types[..local_types.len().min(LISTED_TYPES)].join(", "));
        if local_types.len() > LISTED_TYPES {
            s.push_str(&format!(" and {} more", local_types.len() - LISTED_TYPES));
        }
        s.push(')');
    }
    s.push_str(" or `context.Type` for a type of another file");
    s
}

/// Resolves the type text of a field in context `ctx`, reporting every problem at the
/// type's position. `None` if it does not resolve.
pub(crate) fn resolve(
    ty: &Name,
    ctx: &str,
    syms: &Symbols,
    file: &Path,
    sink: &mut Sink,
) -> Option<TypeRef> {
    if ty.text.trim().is_empty() {
        sink.error(file, ty.loc, "empty type")
            .hint(format!("a field type is one of {}", allowed(&[])));
        return None;
    }
    let ast = match parse(&ty.text) {
        Ok(a) => a,
        Err(e) => {
            sink.error(file, ty.loc, format!("cannot read type `{}`: {e}", ty.text))
                .hint("write types like `String`, `Option<Money>`, `Map<String, Vec<i64>>`");
            return None;
        }
    };
    resolve_ast(&ast, ty, ctx, syms, file, sink)
}

fn resolve_ast(
    ast: &Ast,
    ty: &Name,
    ctx: &str,
    syms: &Symbols,
    file: &Path,
    sink: &mut Sink,
) -> Option<TypeRef> {
    let loc = ty.loc;
    let own = syms.contexts.get(ctx)?;
    if let Some(other) = &ast.ctx {
        if !ast.args.is_empty() {
            sink.error(
                file,
                loc,
                format!("`{other}.{}` takes no type parameters", ast.name),
            );
            return None;
        }
        let Some(target) = syms.contexts.get(other) else {
            sink.error(
                file,
                loc,
                format!("unknown context `{other}` in type `{}`", ty.text),
            )
            .hint(super::unknown_context_hint(other, syms));
            return None;
        };
        if target.type_set.contains(&ast.name) {
            return Some(TypeRef::Named {
                context: other.clone(),
                name: ast.name.clone(),
            });
        }
        let full = sink.is_full(file);
        let d = sink.error(file, loc, match target.kinds.get(&ast.name) {
            Some(kind) => format!("`{other}.{}` is {kind}, not a type; only names under `types:` can be field types", ast.name),
            None => format!("context `{other}` declares no type `{}`", ast.name),
        });
        if !full {
            d.hint_opt(
                did_you_mean(&ast.name, target.types.iter().map(String::as_str))
                    .map(|m| format!("did you mean `{other}.{m}`?")),
            );
        }
        return None;
    }
    let name = ast.name.as_str();
    let arity = |want: usize, sink: &mut Sink| -> bool {
        if ast.args.len() == want {
            return true;
        }
        let msg = match (want, ast.args.len()) {
            (0, _) => format!("`{name}` takes no type parameters"),
            (1, 0) => format!("`{name}` needs a type parameter: `{name}<T>`"),
            (1, _) => format!("`{name}` takes exactly one type parameter: `{name}<T>`"),
            _ => format!("`{name}` takes a key and a value type: `Map<String, T>`"),
        };
        sink.error(file, loc, format!("{msg} (in `{}`)", ty.text));
        false
    };
    let builtin = match name {
        "String" => Some(TypeRef::String),
        "bool" => Some(TypeRef::Bool),
        "i32" => Some(TypeRef::I32),
        "i64" => Some(TypeRef::I64),
        "u32" => Some(TypeRef::U32),
        "u64" => Some(TypeRef::U64),
        "f64" => Some(TypeRef::F64),
        "Uuid" => Some(TypeRef::Uuid),
        "DateTime" => Some(TypeRef::DateTime),
        "Decimal" => Some(TypeRef::Decimal),
        "Json" => Some(TypeRef::Json),
        _ => None,
    };
    if let Some(b) = builtin {
        return arity(0, sink).then_some(b);
    }
    match name {
        "Option" | "Vec" => {
            if !arity(1, sink) {
                return None;
            }
            let inner = Box::new(resolve_ast(&ast.args[0], ty, ctx, syms, file, sink)?);
            return Some(if name == "Option" {
                TypeRef::Option(inner)
            } else {
                TypeRef::Vec(inner)
            });
        }
        "Map" => {
            if !arity(2, sink) {
                return None;
            }
            let key = &ast.args[0];
            if key.ctx.is_some() || key.name != "String" || !key.args.is_empty() {
                sink.error(file, loc, format!("a Map key must be String, found `{}` in `{}`", show_ast(key), ty.text))
                    .hint("stored payloads are JSON, whose object keys are strings: write `Map<String, T>`");
                return None;
            }
            return resolve_ast(&ast.args[1], ty, ctx, syms, file, sink)
                .map(|t| TypeRef::Map(Box::new(t)));
        }
        _ => {}
    }
    if own.type_set.contains(name) {
        if !arity(0, sink) {
            return None;
        }
        return Some(TypeRef::Named {
            context: ctx.to_string(),
            name: name.to_string(),
        });
    }
    if let Some(kind) = own.kinds.get(name) {
        sink.error(
            file,
            loc,
            format!(
                "`{name}` is {kind}, not a type; a field type is one of {}",
                allowed(&own.types)
            ),
        );
        return None;
    }
    if sink.is_full(file) {
        // Only counted: the suggestion and the list would be thrown away.
        sink.error(file, loc, format!("unknown type `{name}`"));
        return None;
    }
    let suggestion = ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map(|(_, b)| *b)
        .or_else(|| {
            did_you_mean(
                name,
                BUILTINS
                    .iter()
                    .copied()
                    .chain(GENERICS.iter().copied())
                    .chain(own.types.iter().map(String::as_str)),
            )
        });
    sink.error(
        file,
        loc,
        format!(
            "unknown type `{name}`; a field type is one of {}",
            allowed(&own.types)
        ),
    )
    .hint_opt(suggestion.map(|s| format!("did you mean `{s}`?")));
    None
}

fn show_ast(a: &Ast) -> String {
    let mut s = match &a.ctx {
        Some(c) => format!("{c}.{}", a.name),
        None => a.name.clone(),
    };
    if !a.args.is_empty() {
        s.push('<');
        s.push_str(&a.args.iter().map(show_ast).collect::<Vec<_>>().join(", "));
        s.push('>');
    }
    s
}

/// A type as the user writes it in YAML (`Option<atm.Card>`), for messages.
pub(crate) fn show(t: &TypeRef, ctx: &str) -> String {
    t.schema_text(ctx)
}

/// A resolved declared type, for value checks and recursion.
#[derive(Debug, Clone)]
pub(crate) enum Decl {
    Enum(Vec<String>),
    Struct(Vec<(String, TypeRef)>),
}

pub(crate) type Decls = HashMap<(String, String), Decl>;

/// The YAML value as the JSON a stored payload or a default would hold.
pub(crate) fn to_json(node: &Node) -> Result<Json, String> {
    Ok(match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(n) => {
            if let Ok(i) = i64::try_from(*n) {
                Json::from(i)
            } else if let Ok(u) = u64::try_from(*n) {
                Json::from(u)
            } else {
                return Err(format!("the number {n} is too large"));
            }
        }
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .ok_or_else(|| format!("{f} is not a finite number"))?,
        Value::Str(s) => Json::String(s.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Value::Map(entries) => {
            let mut map = serde_json::Map::new();
            for (k, v) in entries {
                map.insert(k.text.clone(), to_json(v)?);
            }
            Json::Object(map)
        }
    })
}

fn json_show(v: &Json) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

fn int_range(t: &TypeRef) -> Option<(i128, i128)> {
    Some(match t {
        TypeRef::I32 => (i32::MIN.into(), i32::MAX.into()),
        TypeRef::I64 => (i64::MIN.into(), i64::MAX.into()),
        TypeRef::U32 => (0, u32::MAX.into()),
        TypeRef::U64 => (0, u64::MAX.into()),
        _ => return None,
    })
}

pub(crate) fn is_integer(t: &TypeRef) -> bool {
    int_range(t).is_some()
}

fn json_int(v: &Json) -> Option<i128> {
    match v {
        Json::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    }
}

/// Does `value` deserialize as `ty`? `Err` says why not, for "default ... does not fit".
pub(crate) fn fits(value: &Json, ty: &TypeRef, ctx: &str, decls: &Decls) -> Result<(), String> {
    fits_depth(value, ty, ctx, decls, 0)
}

fn fits_depth(
    value: &Json,
    ty: &TypeRef,
    ctx: &str,
    decls: &Decls,
    depth: usize,
) -> Result<(), String> {
    if depth > 64 {
        return Err("the value is nested too deeply".into());
    }
    let want = |what: &str| {
        Err(format!(
            "`{}` expects {what}, found {}",
            show(ty, ctx),
            json_show(value)
        ))
    };
    match ty {
        TypeRef::String => {
            if value.is_string() {
                Ok(())
            } else {
                let hint = if value.is_number() || value.is_boolean() {
                    " (quote it to make it a string)"
                } else {
                    ""
                };
                Err(format!(
                    "`String` expects a string, found {}{hint}",
                    json_show(value)
                ))
            }
        }
        TypeRef::Bool => {
            if value.is_boolean() {
                Ok(())
            } else {
                want("true or false")
            }
        }
        TypeRef::I32 | TypeRef::I64 | TypeRef::U32 | TypeRef::U64 => {
            let (lo, hi) = int_range(ty).unwrap_or((0, 0));
            match json_int(value) {
                Some(n) if n >= lo && n <= hi => Ok(()),
                _ => want(&format!("a whole number from {lo} to {hi}")),
            }
        }
        TypeRef::F64 => {
            if value.is_number() {
                Ok(())
            } else {
                want("a number")
            }
        }
        TypeRef::Uuid => match value.as_str() {
            Some(s) if is_uuid(s) => Ok(()),
            _ => want("a UUID string like \"0190a6e4-8c3b-7d2e-9f41-2a5b6c7d8e9f\""),
        },
        TypeRef::DateTime => match value.as_str() {
            Some(s) if is_rfc3339(s) => Ok(()),
            _ => want("an RFC 3339 timestamp string like \"2024-01-31T12:00:00Z\""),
        },
        // rust_decimal's `serde-str` feature deserializes only from strings: a bare number
        // would fail at run time (or silently become 0 through `unwrap_or_default`).
        TypeRef::Decimal => match value {
            Json::String(s) if is_decimal(s) => Ok(()),
            Json::Number(n) => Err(format!(
                "`Decimal` expects a decimal string, found {n} (quote it: \"{n}\")"
            )),
            _ => want("a decimal string like \"12.50\""),
        },
        TypeRef::Json => Ok(()),
        TypeRef::Option(inner) => {
            if value.is_null() {
                Ok(())
            } else {
                fits_depth(value, inner, ctx, decls, depth + 1)
            }
        }
        TypeRef::Vec(inner) => match value {
            Json::Array(items) => items
                .iter()
                .try_for_each(|i| fits_depth(i, inner, ctx, decls, depth + 1)),
            _ => want("a list"),
        },
        TypeRef::Map(inner) => match value {
            Json::Object(m) => m
                .values()
                .try_for_each(|i| fits_depth(i, inner, ctx, decls, depth + 1)),
            _ => want("a mapping"),
        },
        TypeRef::Named { context, name } => match decls.get(&(context.clone(), name.clone())) {
            // A type that failed to resolve was reported already; do not pile on.
            None => Ok(()),
            Some(Decl::Enum(variants)) => match value.as_str() {
                Some(s) if variants.iter().any(|v| v == s) => Ok(()),
                _ => want(&format!("one of {}", variants.join(", "))),
            },
            Some(Decl::Struct(fields)) => {
                let Json::Object(map) = value else {
                    return want("a mapping of its fields");
                };
                for key in map.keys() {
                    if !fields.iter().any(|(f, _)| f == key) {
                        return Err(format!("`{}` has no field `{key}`", show(ty, ctx)));
                    }
                }
                for (f, fty) in fields {
                    match map.get(f) {
                        Some(v) => fits_depth(v, fty, ctx, decls, depth + 1)
                            .map_err(|e| format!("field `{f}`: {e}"))?,
                        None if matches!(fty, TypeRef::Option(_)) => {}
                        None => return Err(format!("`{}` needs field `{f}`", show(ty, ctx))),
                    }
                }
                Ok(())
            }
        },
    }
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_rfc3339(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

fn is_decimal(s: &str) -> bool {
    // `from_str_exact` rejects values it would have to round, which serde-str also rejects.
    rust_decimal::Decimal::from_str_exact(s).is_ok()
}

/// A field of a declared struct that holds a declared type without indirection.
pub(crate) struct DirectEdge {
    pub from: (String, String),
    pub field: String,
    pub to: (String, String),
    pub file: std::path::PathBuf,
    pub loc: Loc,
}

/// The declared type a field holds directly (possibly inside `Option`s): a struct needs its
/// size, so `Option<Self>` recursion would need a `Box`. `Vec` and `Map` allocate, so
/// recursion through them is fine.
pub(crate) fn direct_target(t: &TypeRef) -> Option<(String, String)> {
    match t {
        TypeRef::Named { context, name } => Some((context.clone(), name.clone())),
        TypeRef::Option(inner) => direct_target(inner),
        _ => None,
    }
}

/// Reports every cycle of declared types that holds itself without `Vec` or `Map`, once.
///
/// Linear in the number of edges for a schema without such cycles (the common case, and a
/// long chain of nested types must not cost a search per type): the strongly connected
/// components say which edges can be on a cycle at all; a path is then searched only from
/// those, only inside their component, and only until a report covers the type.
pub(crate) fn check_recursion(edges: &[DirectEdge], sink: &mut Sink) {
    // Types as numbers, and each type's outgoing edges in edge order.
    let mut ids: HashMap<&(String, String), usize> = HashMap::new();
    for e in edges {
        for t in [&e.from, &e.to] {
            let next = ids.len();
            ids.entry(t).or_insert(next);
        }
    }
    let from: Vec<usize> = edges.iter().map(|e| ids[&e.from]).collect();
    let to: Vec<usize> = edges.iter().map(|e| ids[&e.to]).collect();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    for (i, &f) in from.iter().enumerate() {
        out[f].push(i);
    }
    let component = components(&out, &to);

    let mut reported = vec![false; ids.len()];
    for (first, start) in edges.iter().enumerate() {
        let (s, t) = (from[first], to[first]);
        if reported[s] || component[s] != component[t] {
            continue;
        }
        // Depth-first search for a path from `start.to` back to `start.from`, inside the
        // component; each stack entry is an edge and the entry it was reached from.
        let mut entries: Vec<(usize, Option<usize>)> = vec![(first, None)];
        let mut stack: Vec<usize> = vec![0];
        let mut visited = vec![false; ids.len()];
        let mut found: Option<usize> = None;
        while let Some(entry) = stack.pop() {
            let idx = entries[entry].0;
            if to[idx] == s {
                found = Some(entry);
                break;
            }
            if std::mem::replace(&mut visited[to[idx]], true) {
                continue;
            }
            for &j in &out[to[idx]] {
                if component[to[j]] == component[s] {
                    entries.push((j, Some(entry)));
                    stack.push(entries.len() - 1);
                }
            }
        }
        let Some(mut entry) = found else {
            continue;
        };
        let mut path = vec![entries[entry].0];
        while let Some(parent) = entries[entry].1 {
            entry = parent;
            path.push(entries[entry].0);
        }
        path.reverse();
        let ctx = &start.from.0;
        let chain: Vec<String> = path
            .iter()
            .map(|&i| {
                let e = &edges[i];
                let owner = if &e.from.0 == ctx {
                    e.from.1.clone()
                } else {
                    format!("{}.{}", e.from.0, e.from.1)
                };
                format!("{owner}.{}", e.field)
            })
            .collect();
        let back = &start.from.1;
        sink.error(
            &start.file,
            start.loc,
            format!("type `{back}` contains itself without indirection: {} -> {back}", chain.join(" -> ")),
        )
        .hint("Rust cannot size such a type; hold the recursive value in a `Vec<..>` or `Map<String, ..>`");
        for &i in &path {
            reported[from[i]] = true;
        }
    }
}

/// The strongly connected component of each node (Tarjan's algorithm, with an explicit
/// stack so a long chain of types cannot overflow the thread's stack). `out[n]` are the
/// edges leaving node `n`, `to[e]` the node edge `e` leads to.
fn components(out: &[Vec<usize>], to: &[usize]) -> Vec<usize> {
    const NONE: usize = usize::MAX;
    let n = out.len();
    let (mut index, mut low, mut comp) = (vec![NONE; n], vec![0; n], vec![NONE; n]);
    let (mut on_stack, mut stack) = (vec![false; n], Vec::new());
    let (mut next_index, mut next_comp) = (0, 0);
    for root in 0..n {
        if index[root] != NONE {
            continue;
        }
        // (node, how many of its edges are done)
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut done)) = work.last_mut() {
            if let Some(&e) = out[v].get(*done) {
                *done += 1;
                let w = to[e];
                if index[w] == NONE {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp[w] = next_comp;
                    if w == v {
                        break;
                    }
                }
                next_comp += 1;
            }
        }
    }
    comp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_types() {
        let a = parse(" Map<String, Vec< atm.Card >> ").map_err(|e| e.to_string());
        assert_eq!(
            a.map(|a| show_ast(&a)),
            Ok("Map<String, Vec<atm.Card>>".to_string())
        );
        assert!(parse("Vec<").is_err());
        assert!(parse("Vec<i64>>").is_err());
        assert!(parse("a.b.c").is_err());
        assert!(parse("").is_err());
        assert!(parse(&"Vec<".repeat(100)).is_err());
    }

    #[test]
    fn values_fit_types() {
        let decls = Decls::new();
        assert!(fits(&Json::from(5), &TypeRef::U32, "c", &decls).is_ok());
        assert!(fits(&Json::from(-5), &TypeRef::U32, "c", &decls).is_err());
        assert!(fits(&Json::from("x"), &TypeRef::I64, "c", &decls).is_err());
        assert!(
            fits(
                &Json::Null,
                &TypeRef::Option(Box::new(TypeRef::I64)),
                "c",
                &decls
            )
            .is_ok()
        );
        assert!(
            fits(
                &Json::from("2024-01-31T12:00:00Z"),
                &TypeRef::DateTime,
                "c",
                &decls
            )
            .is_ok()
        );
        assert!(fits(&Json::from("yesterday"), &TypeRef::DateTime, "c", &decls).is_err());
        assert!(fits(&Json::from("12.50"), &TypeRef::Decimal, "c", &decls).is_ok());
        assert!(fits(&Json::from(12.5), &TypeRef::Decimal, "c", &decls).is_err());
        assert!(fits(&Json::from("-0.001"), &TypeRef::Decimal, "c", &decls).is_ok());
        assert!(fits(&Json::from("1e5x"), &TypeRef::Decimal, "c", &decls).is_err());
        let feb31 = Json::from("2024-02-31T12:00:00Z");
        assert!(fits(&feb31, &TypeRef::DateTime, "c", &decls).is_err());
        let offset = Json::from("2024-01-31T12:00:00.5+02:00");
        assert!(fits(&offset, &TypeRef::DateTime, "c", &decls).is_ok());
    }
}
