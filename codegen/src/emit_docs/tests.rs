//! The docs of small domains, checked through the whole path (YAML -> check -> pages).

use std::path::PathBuf;

use super::{INDEX_PAGE, outdir, render};
use crate::check::check_sources;

/// A shop whose orders are paid by another context: a process manager in `shop` starts on
/// its own event, dispatches a command of `pay`, and stops on `pay`'s event; a handler of
/// `pay` reads a `shop` event.
const SHOP: &str = "\
context: shop
aggregates:
  Order:
    identity: order_id
    state: { order_id: String }
    commands:
      PlaceOrder:
        fields:
          order_id: { type: String, validate: [{ pattern: \"^(A|B)[0-9]+$\" }] }
          quantity: { type: u32, validate: [{ min: 1, max: 9 }] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 2
        renamed_from: [OrderCreated]
        fields: { order_id: String, quantity: u32 }
        upcast:
          - from: 1
            add: { quantity: 1 }
process_managers:
  Checkout:
    identity: order_id
    starts_on: [OrderPlaced]
    stops_on: [pay.PaymentTaken]
    dispatches: [pay.TakePayment]
    state: { order_id: String }
";

const PAY: &str = "\
context: pay
aggregates:
  Payment:
    identity: order_id
    state: { order_id: String }
    commands:
      TakePayment:
        fields: { order_id: String }
        emits: [PaymentTaken]
    events:
      PaymentTaken:
        fields: { order_id: String }
handlers:
  Ledger:
    subscribes: [shop.OrderPlaced, PaymentTaken]
";

fn pages(sources: &[(&str, &str)]) -> Vec<(String, String)> {
    let sources: Vec<(PathBuf, String)> = sources
        .iter()
        .map(|(f, t)| (PathBuf::from(f), t.to_string()))
        .collect();
    let checked = match check_sources(&sources) {
        Ok(c) => c,
        Err(report) => panic!("the test schema must be valid:\n{report}"),
    };
    match render(&checked.domain) {
        Ok(pages) => pages,
        Err(e) => panic!("render: {e}"),
    }
}

fn page<'a>(pages: &'a [(String, String)], name: &str) -> &'a str {
    pages
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t.as_str())
        .unwrap_or_else(|| panic!("no page {name}"))
}

/// The lines of the page's first Mermaid block.
fn diagram(page: &str) -> Vec<&str> {
    let start = page.find("```mermaid\n").expect("a mermaid block") + "```mermaid\n".len();
    let len = page[start..].find("```").expect("closing fence");
    page[start..start + len].lines().map(str::trim).collect()
}

#[test]
fn one_page_per_context_and_the_index() {
    let pages = pages(&[("schemas/shop.yaml", SHOP), ("schemas/pay.yaml", PAY)]);
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["pay.md", "shop.md", INDEX_PAGE]);
    for (name, text) in &pages {
        assert!(text.starts_with(super::pages::MARK), "{name}");
        assert!(text.ends_with("\n") && !text.ends_with("\n\n"), "{name}");
    }
}

#[test]
fn the_flow_has_every_edge_across_contexts() {
    let pages = pages(&[("shop.yaml", SHOP), ("pay.yaml", PAY)]);
    let shop = diagram(page(&pages, "shop.md"));
    for line in [
        // Shapes: command rectangle, event stadium, process manager hexagon, handler box.
        "cmd__shop__PlaceOrder[\"PlaceOrder\"]:::command",
        "evt__shop__OrderPlaced([\"OrderPlaced\"]):::event",
        "pm__shop__Checkout{{\"Checkout\"}}:::process",
        "hdl__pay__Ledger[[\"Ledger\"]]:::handler",
        // Command -> event, event -> process manager -> other context's command.
        "cmd__shop__PlaceOrder --> evt__shop__OrderPlaced",
        "evt__shop__OrderPlaced -->|\"starts\"| pm__shop__Checkout",
        "pm__shop__Checkout -.->|\"dispatches\"| cmd__pay__TakePayment",
        "evt__pay__PaymentTaken -->|\"stops\"| pm__shop__Checkout",
        // Another context's handler reading this context's event.
        "evt__shop__OrderPlaced --> hdl__pay__Ledger",
        // Among the other context's items shown: the dispatched command's event.
        "cmd__pay__TakePayment --> evt__pay__PaymentTaken",
        "subgraph agg__shop__Order[\"Order\"]",
        "subgraph ctx__pay[\"pay\"]",
    ] {
        assert!(
            shop.contains(&line),
            "missing `{line}` in\n{}",
            shop.join("\n")
        );
    }
    // The other context's items sit in its box, not in the page's own.
    let pay_box = shop
        .iter()
        .position(|l| l.starts_with("subgraph ctx__pay"))
        .expect("pay box");
    let ledger = shop
        .iter()
        .position(|l| l.starts_with("hdl__pay__Ledger"))
        .expect("ledger");
    assert!(ledger > pay_box);
    // `pay`'s page sees the shop's event and process manager, not the shop's command.
    let pay = diagram(page(&pages, "pay.md"));
    assert!(pay.contains(&"evt__shop__OrderPlaced --> hdl__pay__Ledger"));
    assert!(pay.contains(&"pm__shop__Checkout -.->|\"dispatches\"| cmd__pay__TakePayment"));
    assert!(!pay.iter().any(|l| l.contains("cmd__shop__PlaceOrder")));
    // The context map: events one way, the dispatch the other.
    let map = diagram(page(&pages, INDEX_PAGE));
    assert!(
        map.contains(&"ctx__shop -->|\"OrderPlaced\"| ctx__pay"),
        "{map:?}"
    );
    assert!(
        map.contains(&"ctx__pay -->|\"PaymentTaken\"| ctx__shop"),
        "{map:?}"
    );
    assert!(
        map.contains(&"ctx__shop -.->|\"TakePayment\"| ctx__pay"),
        "{map:?}"
    );
}

#[test]
fn the_catalogue_shows_versions_old_names_emitters_and_consumers() {
    let pages = pages(&[("shop.yaml", SHOP), ("pay.yaml", PAY)]);
    let shop = page(&pages, "shop.md");
    assert!(
        shop.contains(
            "| [`OrderPlaced`](#event-orderplaced) | 2 | [`Order`](#aggregate-order) \
         | [`PlaceOrder`](#command-placeorder) \
         | handler [`pay.Ledger`](pay.md#handler-ledger) (subscribes), \
         process manager [`Checkout`](#process-manager-checkout) (starts) | `OrderCreated` |"
        ),
        "{shop}"
    );
    assert!(
        shop.contains("| v1 to v2 | add `quantity` = `1` |"),
        "{shop}"
    );
    assert!(shop.contains("- Dispatches: [`pay.TakePayment`](pay.md#command-takepayment)"));
    // Each command's rules, a `|` in a pattern escaped for the table.
    assert!(
        shop.contains("| `order_id` | `String` | matches `^(A\\|B)[0-9]+$` |  |"),
        "{shop}"
    );
    assert!(
        shop.contains("| `quantity` | `u32` | range 1..=9 |  |"),
        "{shop}"
    );
    let pay = page(&pages, "pay.md");
    assert!(pay.contains(
        "- Dispatched by: process manager [`shop.Checkout`](shop.md#process-manager-checkout)"
    ));
    assert!(pay.contains("- Subscribes: [`shop.OrderPlaced`](shop.md#event-orderplaced), [`PaymentTaken`](#event-paymenttaken)"));
}

#[test]
fn output_is_stable_whatever_the_file_order_and_path() {
    let a = pages(&[("schemas/shop.yaml", SHOP), ("schemas/pay.yaml", PAY)]);
    let b = pages(&[("./other/pay.yaml", PAY), ("./other/shop.yaml", SHOP)]);
    assert_eq!(a, b);
    assert_eq!(
        a,
        pages(&[("schemas/shop.yaml", SHOP), ("schemas/pay.yaml", PAY)])
    );
}

#[test]
fn a_context_with_only_types_has_no_diagram() {
    let pages = pages(&[("kinds.yaml", "types:\n  Size: { enum: [S, M] }\n")]);
    let kinds = page(&pages, "kinds.md");
    assert!(!kinds.contains("```mermaid"), "{kinds}");
    assert!(kinds.contains("Enum: `S`, `M`"), "{kinds}");
    // One context: no context map either.
    assert!(!page(&pages, INDEX_PAGE).contains("```mermaid"));
}

#[test]
fn check_tells_changed_missing_and_extra_pages() {
    let dir = std::env::temp_dir().join(format!("eskema-docs-outdir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pages = pages(&[("shop.yaml", SHOP), ("pay.yaml", PAY)]);
    let missing = outdir::check(&pages, &dir).expect("check");
    assert_eq!(missing.missing.len(), 3);

    let done = outdir::write(&pages, &dir).expect("write");
    assert_eq!(done.written.len(), 3);
    assert!(outdir::check(&pages, &dir).expect("check").is_empty());
    assert_eq!(
        outdir::write(&pages, &dir).expect("write").unchanged.len(),
        3
    );

    std::fs::write(dir.join("shop.md"), "edited\n").expect("edit");
    std::fs::remove_file(dir.join("pay.md")).expect("remove");
    // A page of a context that is gone, and a hand-written page that is not ours.
    std::fs::write(
        dir.join("old.md"),
        format!("{} from old.yaml -->\n", super::pages::MARK),
    )
    .expect("old");
    std::fs::write(dir.join("notes.md"), "# my notes\n").expect("notes");
    let stale = outdir::check(&pages, &dir).expect("check");
    assert_eq!(stale.changed, [dir.join("shop.md")]);
    assert_eq!(stale.missing, [dir.join("pay.md")]);
    assert_eq!(stale.extra, [dir.join("old.md")]);

    let done = outdir::write(&pages, &dir).expect("write");
    assert_eq!(done.removed, [dir.join("old.md")]);
    assert!(outdir::check(&pages, &dir).expect("check").is_empty());
    assert!(
        dir.join("notes.md").exists(),
        "hand-written pages are left alone"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
