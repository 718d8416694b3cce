/** The page's styles (light and dark, following the system unless the user picks one). */
export const CSS = `
:root{--bg:#fbfbfa;--fg:#1d1f21;--muted:#6b6f76;--line:#d9dadc;--panel:#fff;--accent:#1a64c8;--ok:#1b7f3a;--bad:#b3261e;--warn:#9a6700;--bar:#4a88d8;--sel:#e3edfb;color-scheme:light}
:root[data-theme=dark]{--bg:#15171a;--fg:#e4e6e8;--muted:#9aa0a6;--line:#33373c;--panel:#1d2024;--accent:#7fb0ff;--ok:#5fcf80;--bad:#ff8a80;--warn:#e3b341;--bar:#5b9cf0;--sel:#22344d;color-scheme:dark}
@media (prefers-color-scheme:dark){:root:not([data-theme=light]){--bg:#15171a;--fg:#e4e6e8;--muted:#9aa0a6;--line:#33373c;--panel:#1d2024;--accent:#7fb0ff;--ok:#5fcf80;--bad:#ff8a80;--warn:#e3b341;--bar:#5b9cf0;--sel:#22344d;color-scheme:dark}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,sans-serif;background:var(--bg);color:var(--fg);height:100vh;display:grid;grid-template-rows:auto 1fr;overflow:hidden}
header{display:flex;gap:12px;align-items:center;padding:8px 12px;border-bottom:1px solid var(--line);background:var(--panel)}
header h1{font-size:16px;margin:0 8px 0 0}
header .status{margin-left:auto;color:var(--muted);font-size:12px}
select,input,button{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:3px 6px}
button{cursor:pointer}
:focus-visible{outline:2px solid var(--accent);outline-offset:1px}
main{display:grid;grid-template-columns:280px 1fr 420px;min-height:0}
#list{overflow:auto;border-right:1px solid var(--line);position:relative}
#list .row{position:absolute;left:0;right:0;height:28px;padding:4px 10px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;cursor:pointer;border-bottom:1px solid var(--line)}
#list .row[aria-selected=true]{background:var(--sel)}
#list .row small{color:var(--muted);margin-left:6px}
#detail{overflow:auto;padding:10px 16px}
#side{overflow:auto;border-left:1px solid var(--line);padding:10px 12px;display:flex;flex-direction:column;gap:8px}
h2{font-size:18px;margin:4px 0}
h3{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);margin:16px 0 6px}
table{border-collapse:collapse;width:100%}
td,th{padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
pre{background:var(--panel);border:1px solid var(--line);padding:8px;overflow:auto;margin:0;white-space:pre-wrap;overflow-wrap:anywhere;tab-size:2}
.faded{opacity:.45}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;border:1px solid currentColor;margin-right:4px}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.muted{color:var(--muted)}
.bars{display:grid;grid-template-columns:minmax(120px,auto) 1fr 48px;gap:3px 8px;align-items:center}
.bar{height:14px;background:var(--bar);border-radius:2px;min-width:1px}
.note{color:var(--muted);font-style:italic}
#log{table-layout:fixed}
#log td{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#log th:first-child,#log td:first-child{width:55%}
.linkish{border:none;background:none;padding:0;color:var(--accent);text-decoration:underline;text-align:left}
#dig{display:flex;flex-wrap:wrap;gap:4px}#dig-name{flex:1 1 200px;min-width:0}
`;
