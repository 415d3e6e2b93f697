import Foundation

/// The one hand-written stylesheet, served by Shiming itself. Large type, high contrast and
/// big touch targets so that elderly users and small phones are served well (适老化).
enum Stylesheet {
    static let path = "/assets/shiming.css"

    /// A strong validator so browsers can revalidate cheaply.
    static let etag = WebController.etag(of: css)

    static let css = """
    :root {
      --ink: #111; --paper: #fff; --muted: #444; --line: #767676;
      --accent: #0b57a4; --accent-ink: #fff; --warn: #a30000; --soft: #eef4fb;
    }
    * { box-sizing: border-box; }
    html { font-size: 112.5%; -webkit-text-size-adjust: 100%; }
    body {
      margin: 0; color: var(--ink); background: var(--paper); line-height: 1.7;
      font-family: system-ui, -apple-system, "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC",
        "Source Han Sans SC", "Microsoft YaHei", sans-serif;
    }
    a { color: var(--accent); text-underline-offset: 0.2em; }
    a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible {
      outline: 3px solid #f2a900; outline-offset: 2px;
    }
    .skip { position: absolute; left: -999px; }
    .skip:focus { left: 1rem; top: 1rem; background: var(--paper); padding: 0.5rem; z-index: 10; }
    header.site {
      display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.5rem 1rem;
      padding: 0.75rem 1rem; border-bottom: 2px solid var(--ink);
    }
    header.site .brand { font-size: 1.3rem; font-weight: 700; color: var(--ink); text-decoration: none; }
    header.site nav { display: flex; flex-wrap: wrap; gap: 0.5rem 1.25rem; align-items: center; }
    header.site nav a { display: inline-block; min-height: 48px; line-height: 48px; padding: 0 0.25rem; }
    main { max-width: 46rem; margin: 0 auto; padding: 1rem; }
    h1 { font-size: 1.7rem; line-height: 1.3; margin: 1rem 0; }
    h2 { font-size: 1.3rem; margin: 1.75rem 0 0.5rem; }
    p, li { max-width: 40em; }
    ul.plain { padding-left: 1.2rem; }
    .lead { font-size: 1.15rem; color: var(--muted); }
    .actions { display: flex; flex-wrap: wrap; gap: 0.75rem; margin: 1.25rem 0; }
    .button, button {
      display: inline-block; min-height: 52px; padding: 0.7rem 1.4rem; border-radius: 6px; border: 2px solid var(--accent);
      font: inherit; font-weight: 600; text-decoration: none; cursor: pointer; background: var(--paper); color: var(--accent);
    }
    .button.primary, button.primary { background: var(--accent); color: var(--accent-ink); }
    button.danger { background: #b42318; color: #fff; border-color: #b42318; }
    .consent-body { max-height: 45vh; overflow-y: auto; border-bottom: 1px solid var(--line); margin-bottom: 0.75rem; }
    .card { border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; background: var(--soft); }
    .error-code { color: var(--warn); font-weight: 700; }
    form { margin: 1rem 0 1.5rem; }
    .field { margin: 0 0 1.1rem; }
    .field label { display: block; font-weight: 600; margin-bottom: 0.3rem; }
    .field input[type=text], .field input[type=tel], .field input[type=email], .field input[type=password] {
      display: block; width: 100%; max-width: 26rem; min-height: 52px; padding: 0.6rem 0.75rem;
      font: inherit; border: 2px solid var(--line); border-radius: 6px; background: var(--paper); color: var(--ink);
    }
    .field select, .field textarea {
      display: block; width: 100%; max-width: 26rem; min-height: 52px; padding: 0.6rem 0.75rem;
      font: inherit; border: 2px solid var(--line); border-radius: 6px; background: var(--paper); color: var(--ink);
    }
    .field input[type=file] { display: block; font: inherit; min-height: 52px; padding: 0.5rem 0; max-width: 100%; }
    fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 1.1rem; padding: 0.5rem 1rem; }
    legend { font-weight: 600; }
    ul.big-links li { margin: 0.4rem 0; }
    ul.big-links a { display: inline-block; min-height: 48px; line-height: 48px; font-size: 1.1rem; }
    .table-wrap { overflow-x: auto; }
    table.list { border-collapse: collapse; width: 100%; }
    table.list th, table.list td { border-bottom: 1px solid var(--line); padding: 0.5rem; text-align: left; vertical-align: top; }
    table.list form { margin: 0; }
    .proofs figure { margin: 1rem 0; }
    .proofs img { max-width: 100%; height: auto; border: 1px solid var(--line); }
    .field.check label { font-weight: 400; display: flex; gap: 0.6rem; align-items: flex-start; }
    .field.check input { width: 1.6rem; height: 1.6rem; margin-top: 0.2rem; flex: none; }
    .field .hint { margin: 0 0 0.3rem; color: var(--muted); font-size: 0.95rem; }
    .field-error { margin: 0 0 0.3rem; color: var(--warn); font-weight: 600; }
    .has-error input { border-color: var(--warn); }
    .notice { border-radius: 6px; padding: 0.75rem 1rem; margin: 1rem 0; border: 2px solid; }
    .notice.ok { border-color: #1e7a34; background: #eef8f0; }
    .notice.error { border-color: var(--warn); background: #fdf0f0; }
    dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.4rem 1.25rem; }
    dl.facts dt { font-weight: 600; }
    dl.facts dd { margin: 0; }
    ol.steps { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; padding: 0; list-style: none; font-size: 1.05rem; }
    ol.steps li[aria-current] strong { border-bottom: 3px solid var(--accent); }
    .state { font-size: 1.3rem; }
    .identity-code strong { font-size: 1.5rem; letter-spacing: 0.08em; font-family: ui-monospace, monospace; }
    ul.problems li { margin: 0.4rem 0; color: var(--warn); font-weight: 600; }
    ul.checks { list-style: none; padding: 0; }
    ul.access-log { list-style: none; padding: 0; }
    ul.checks li { margin: 0.3rem 0; }
    ul.checks li.failed { color: var(--warn); }
    ol.timeline { padding-left: 1.4rem; }
    ol.timeline li { margin: 0.3rem 0; }
    img.thumb { display: block; max-width: 100%; max-height: 14rem; margin: 0.5rem 0; border: 1px solid var(--line); }
    .side-by-side { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem; }
    .side-by-side > .card { margin: 0; }
    #documents figure { margin: 0 0 1rem; }
    #documents img { display: block; max-width: 100%; border: 1px solid var(--line); }
    nav.tabs { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 1rem 0; }
    nav.tabs a { padding: 0.4rem 0.9rem; border: 1px solid var(--line); border-radius: 999px; text-decoration: none; }
    nav.tabs a[aria-current="page"] { background: var(--accent, #1f5fa8); color: #fff; }
    .overdue { color: var(--warn); font-weight: 600; }
    fieldset.choices label { display: block; padding: 0.35rem 0; }
    fieldset.choices input { width: 1.3rem; height: 1.3rem; vertical-align: middle; }
    textarea { width: 100%; font: inherit; padding: 0.5rem; box-sizing: border-box; }
    blockquote { border-left: 4px solid var(--line); margin: 0.5rem 0; padding: 0.25rem 0.75rem; }
    svg.chart { max-width: 40rem; display: block; }
    .actions form { display: inline-block; margin: 0 0 0 0.5rem; }
    .nowrap { white-space: nowrap; }
    .identity-code strong { white-space: nowrap; }
    dl.facts dd, .card p, td { overflow-wrap: anywhere; }
    details.reveal summary { display: inline-block; min-height: 48px; line-height: 48px; color: var(--accent); cursor: pointer; }
    details.reveal .typed { display: block; font-size: 1.25rem; letter-spacing: 0.06em; font-family: ui-monospace, monospace; }
    ul.checks li.not-run { color: var(--muted); }
    figure.example { margin: 0.5rem 0 1rem; }
    figure.example svg { display: block; width: 100%; max-width: 20rem; height: auto; background: #fff; border: 1px dashed var(--line); border-radius: 6px; }
    figure.example figcaption { font-weight: 600; margin-top: 0.3rem; }
    form.upload { margin: 0.5rem 0 1rem; }
    form.upload progress { display: block; width: 100%; height: 1.2rem; margin: 0.4rem 0; }
    form.upload progress[hidden] { display: none; }
    ol.progress { display: flex; flex-wrap: wrap; gap: 0.25rem 0.5rem; list-style: none; padding: 0; margin: 1rem 0; }
    ol.progress li { padding: 0.3rem 0.8rem; border: 2px solid var(--line); border-radius: 999px; }
    ol.progress li.done { border-color: #1e7a34; color: #1e7a34; font-weight: 600; }
    ol.progress li.current { border-color: var(--accent); background: var(--accent); color: var(--accent-ink); font-weight: 700; }
    ol.progress li + li::before { content: "→ "; }
    .help-line { font-size: 1.1rem; }
    .help-line a { display: inline-block; min-height: 48px; line-height: 48px; font-weight: 700; }
    ol.steps a { display: inline-block; min-height: 48px; line-height: 48px; padding: 0 0.25rem; }
    ol.steps li strong { display: inline-block; min-height: 48px; line-height: 48px; }
    footer.site a { display: inline-block; min-height: 48px; line-height: 48px; }
    main p > a:not(.button) { display: inline-block; min-height: 48px; line-height: 48px; }
    footer.site { border-top: 1px solid var(--line); margin-top: 2rem; padding: 1rem; color: var(--muted); font-size: 0.95rem; }
    footer.site p { max-width: 46rem; margin: 0 auto; }
    header.site nav a.elder-switch { border: 2px solid var(--accent); border-radius: 6px; padding: 0 0.6rem; font-weight: 700; text-decoration: none; }
    /* 大字版 / 长辈版: body text 22 px, every tap target at least 48 px, more room between things. */
    html.elder { font-size: 137.5%; }
    html.elder body { line-height: 1.8; }
    html.elder main a, html.elder footer a, html.elder summary { display: inline-block; min-height: 48px; min-width: 48px; line-height: 48px; text-align: center; }
    html.elder .button, html.elder button { min-height: 60px; padding: 0.8rem 1.6rem; }
    html.elder .field input, html.elder .field select { min-height: 60px; }
    html.elder .field.check input { width: 2rem; height: 2rem; }
    html.elder fieldset.choices input { width: 1.8rem; height: 1.8rem; }
    html.elder .field .hint { font-size: 1rem; }
    html.elder ol.steps { flex-direction: column; }
    @media (max-width: 30rem) {
      html { font-size: 106.25%; }
      html.elder { font-size: 137.5%; }
      table.list thead { display: none; }
      table.list, table.list tbody, table.list tr, table.list td { display: block; width: 100%; }
      table.list tr { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 0.75rem; padding: 0.5rem; background: var(--soft); }
      table.list td { border: none; padding: 0.2rem 0.25rem; }
      table.list td[data-label]::before { content: attr(data-label) "："; font-weight: 600; }
      .actions .button { width: 100%; text-align: center; }
    }
    """
}
