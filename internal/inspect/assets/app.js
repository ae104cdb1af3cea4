// livecb inspector: one page application, served by `livecb listen --ui` and
// `livecb inspect`, and inlined into the single-file reports.
//
// Everything shown came from the network. This file never parses data as
// HTML: elements are made with createElement/createElementNS and text is
// set with textContent (attributes with setAttribute). No eval, no inline
// handlers, no string timers.
'use strict';

(function () {
  const SVGNS = 'http://www.w3.org/2000/svg';

  // ---- DOM -----------------------------------------------------------

  // el makes an element. attrs: class, data-*, and plain attributes (set
  // with setAttribute, never as HTML); children: nodes or strings (text).
  function el(tag, attrs, ...children) {
    return build(document.createElement(tag), attrs, children);
  }

  function svg(tag, attrs, ...children) {
    return build(document.createElementNS(SVGNS, tag), attrs, children);
  }

  function build(node, attrs, children) {
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'text') node.textContent = String(v);
        else if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
        else node.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  const main = document.getElementById('main');
  const nav = document.getElementById('nav');
  const titleEl = document.getElementById('title');
  const statusEl = document.getElementById('status');

  // ---- formatting ----------------------------------------------------

  function pad(n, w) { return String(n).padStart(w || 2, '0'); }

  function clock(t) {
    if (!t) return '';
    const d = new Date(t);
    if (isNaN(d)) return '';
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
  }

  function dateTime(ms) {
    const d = new Date(ms);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
  }

  function streamKey(s) { return s ? s.publishDomain + '/' + s.appName + '/' + s.streamName : ''; }

  function duration(ms) {
    if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    const m = Math.floor(ms / 60000);
    return m + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
  }

  function verdictBadge(r) {
    let label = r.verdict;
    if (r.verdict === 'invalid') label = 'invalid (' + r.errors + ')';
    else if (r.verdict === 'warning') label = 'warnings (' + r.warnings + ')';
    else if (r.verdict === 'other') label = 'not a callback';
    return el('span', { class: 'badge ' + r.verdict, text: label });
  }

  function link(hash, text, cls) {
    return el('a', { href: hash, class: cls, text: text });
  }

  function bytesOf(body) {
    if (body.text !== undefined && body.text !== null) return new TextEncoder().encode(body.text);
    const bin = atob(body.base64 || '');
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  // ---- data sources --------------------------------------------------

  // api reads the inspector's HTTP API; embedded reads the data a report
  // carries. Both answer the same questions with the same shapes.
  function api(token) {
    async function get(path) {
      const res = await fetch(path, { headers: { Accept: 'application/json' } });
      const body = await res.json().catch(() => ({ error: res.status + ' ' + res.statusText }));
      if (!res.ok) throw new Error(body.error || res.statusText);
      return body;
    }
    async function post(path, payload) {
      const res = await fetch(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Livecb-Token': token },
        body: JSON.stringify(payload),
      });
      const body = await res.json().catch(() => ({ error: res.status + ' ' + res.statusText }));
      if (!res.ok) throw new Error(body.error || res.statusText);
      return body;
    }
    function query(f, before) {
      const q = new URLSearchParams();
      for (const k of ['kind', 'verdict', 'stream', 'q']) if (f[k]) q.set(k, f[k]);
      if (before !== undefined && before !== null && before >= 0) q.set('before', before);
      q.set('limit', PAGE);
      return q.toString();
    }
    return {
      live: true,
      info: () => get('/api/info'),
      list: (f, before) => get('/api/requests?' + query(f, before)),
      detail: (id) => get('/api/requests/' + encodeURIComponent(id)),
      streams: () => get('/api/streams'),
      timeline: (key) => get('/api/timeline?stream=' + encodeURIComponent(key)),
      check: (body) => post('/api/check', { body: body }),
      resend: (id, url, body) => post('/api/resend', { id: id, url: url, body: body }),
      follow(onChange, onState) {
        const es = new EventSource('/api/events');
        es.addEventListener('changed', (ev) => {
          let n = 0;
          try { n = JSON.parse(ev.data).total; } catch (e) { /* ignore */ }
          onChange(n);
        });
        es.addEventListener('open', () => onState(true));
        es.addEventListener('error', () => onState(false));
      },
    };
  }

  function embedded(data) {
    const rows = data.rows || [];
    const details = data.details || {};
    const timelines = data.timelines || {};
    function matches(r, f) {
      if (f.kind && (f.kind === 'none' ? r.kind !== '' : r.kind !== f.kind)) return false;
      if (f.verdict && r.verdict !== f.verdict) return false;
      if (f.stream && streamKey(r.stream) !== f.stream) return false;
      if (f.q) {
        const q = f.q.trim().toLowerCase();
        if (q && !(r.text || '').includes(q)) return false;
      }
      return true;
    }
    return {
      live: false,
      info: async () => data.info,
      async list(f, before) {
        const out = { rows: [], matched: 0, total: rows.length, held: rows.length, older: -1, newest: rows.length - 1 };
        for (let i = rows.length - 1; i >= 0; i--) {
          const r = rows[i];
          if (!matches(r, f)) continue;
          out.matched++;
          if (before !== undefined && before !== null && before >= 0 && r.id >= before) continue;
          if (out.rows.length < PAGE) out.rows.push(r);
          else if (out.older < 0) out.older = out.rows[out.rows.length - 1].id;
        }
        return out;
      },
      async detail(id) {
        const d = details[String(id)];
        if (!d) throw new Error('this report does not hold request ' + id + ' (' + (data.omitted || 'not exported') + ')');
        return d;
      },
      streams: async () => data.streams || [],
      async timeline(key) {
        const t = timelines[key];
        if (!t) throw new Error('this report holds no timeline of ' + key);
        return t;
      },
      tests: data.tests,
    };
  }

  const PAGE = 100;
  const dataEl = document.getElementById('livecb-data');
  const tokenEl = document.querySelector('meta[name="livecb-token"]');
  const src = dataEl ? embedded(JSON.parse(dataEl.textContent)) : api(tokenEl ? tokenEl.getAttribute('content') : '');

  // ---- state ---------------------------------------------------------

  const state = {
    info: null,
    filter: { kind: '', verdict: '', stream: '', q: '' },
    cursors: [], // 'before' of each page shown after the newest
    total: 0,
    shownNewest: -1,
    pending: false,
    inFlight: false,
    streams: null,
  };

  function parseHash() {
    const raw = location.hash.slice(1) || '/';
    const qi = raw.indexOf('?');
    let path = qi >= 0 ? raw.slice(0, qi) : raw;
    try { path = decodeURIComponent(path); } catch (e) { /* shown as typed */ }
    return { path: path || '/', params: new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '') };
  }

  function route() {
    const { path, params } = parseHash();
    for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.page === page(path));
    if (path.startsWith('/r/')) return showDetail(path.slice(3));
    if (path.startsWith('/t/')) return showTimeline(path.slice(3));
    if (path === '/streams') return showStreams();
    if (path === '/cases') return showCases(params);
    if (!state.info || !hasRequests()) return showCases(params);
    state.filter = {
      kind: params.get('kind') || '', verdict: params.get('verdict') || '',
      stream: params.get('stream') || '', q: params.get('q') || '',
    };
    return showList();
  }

  function page(path) {
    if (path.startsWith('/r/') || path === '/') return 'requests';
    if (path.startsWith('/t/') || path === '/streams') return 'streams';
    return path.slice(1);
  }

  function hasRequests() { return !src.tests || (state.info && state.info.mode !== 'report-tests'); }

  function filterHash(f) {
    const q = new URLSearchParams();
    for (const k of ['kind', 'verdict', 'stream', 'q']) if (f[k]) q.set(k, f[k]);
    const s = q.toString();
    return '#/' + (s ? '?' + s : '');
  }

  function problem(err) {
    return el('p', { class: 'problem', text: String(err && err.message ? err.message : err) });
  }

  // ---- the list ------------------------------------------------------

  function showList() {
    clear(main);
    const f = state.filter;
    const kind = el('select', { id: 'f-kind', 'aria-label': 'kind' }, el('option', { value: '', text: 'every kind' }));
    for (const k of state.info.kinds) kind.appendChild(el('option', { value: k, text: k }));
    kind.appendChild(el('option', { value: 'none', text: 'no known kind' }));
    kind.value = f.kind;
    const verdict = el('select', { id: 'f-verdict', 'aria-label': 'verdict' }, el('option', { value: '', text: 'every verdict' }));
    for (const v of state.info.verdicts) verdict.appendChild(el('option', { value: v, text: v === 'other' ? 'not a callback' : v }));
    verdict.value = f.verdict;
    const stream = el('select', { id: 'f-stream', 'aria-label': 'stream' }, el('option', { value: '', text: 'every stream' }));
    if (f.stream) stream.appendChild(el('option', { value: f.stream, text: f.stream }));
    stream.value = f.stream;
    const text = el('input', { id: 'f-q', type: 'search', placeholder: 'search path, stream, code, status…', 'aria-label': 'search', value: f.q });
    const count = el('span', { id: 'count', class: 'count' });
    const apply = () => {
      state.cursors = [];
      history.replaceState(null, '', filterHash({ kind: kind.value, verdict: verdict.value, stream: stream.value, q: text.value }));
      state.filter = { kind: kind.value, verdict: verdict.value, stream: stream.value, q: text.value };
      refreshList();
    };
    kind.addEventListener('change', apply);
    verdict.addEventListener('change', apply);
    stream.addEventListener('change', apply);
    let timer = null;
    text.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(apply, 200); });
    main.appendChild(el('section', { class: 'filters' }, kind, verdict, stream, text, count));
    loadStreamOptions(stream, f.stream);

    const newer = el('button', { id: 'newer', type: 'button', text: '← newer' });
    const newest = el('button', { id: 'newest', type: 'button', text: 'newest' });
    const older = el('button', { id: 'older', type: 'button', text: 'older →' });
    const arrivals = el('button', { id: 'arrivals', type: 'button', class: 'arrivals', hidden: true });
    newer.addEventListener('click', () => { state.cursors.pop(); refreshList(); });
    newest.addEventListener('click', () => { state.cursors = []; refreshList(); });
    older.addEventListener('click', () => {
      if (state.older >= 0) { state.cursors.push(state.older); refreshList(); }
    });
    arrivals.addEventListener('click', () => { state.cursors = []; refreshList(); });
    main.appendChild(el('div', { class: 'pager' }, newest, newer, older, arrivals));

    const table = el('table', { id: 'requests', class: 'requests' },
      el('thead', null, el('tr', null,
        el('th', { text: '#' }), el('th', { text: 'time' }), el('th', { text: 'request' }), el('th', { text: 'kind' }),
        el('th', { text: 'publishDomain/appName/streamName' }), el('th', { text: 'verdict' }), el('th', { text: 'answer' }))),
      el('tbody', { id: 'rows' }));
    main.appendChild(table);
    refreshList();
  }

  async function loadStreamOptions(select, current) {
    try {
      const streams = await src.streams();
      for (const s of streams) {
        const k = streamKey(s.key);
        if (k === current) continue;
        select.appendChild(el('option', { value: k, text: s.text }));
      }
    } catch (e) { /* the list still works without them */ }
  }

  async function refreshList() {
    if (state.inFlight) { state.pending = true; return; }
    state.inFlight = true;
    try {
      const before = state.cursors.length ? state.cursors[state.cursors.length - 1] : -1;
      const p = await src.list(state.filter, before);
      renderRows(p);
    } catch (e) {
      const tbody = document.getElementById('rows');
      if (tbody) clear(tbody).appendChild(el('tr', null, el('td', { colspan: 7 }, problem(e))));
    } finally {
      state.inFlight = false;
      if (state.pending) { state.pending = false; refreshList(); }
    }
  }

  function renderRows(p) {
    const tbody = document.getElementById('rows');
    if (!tbody) return;
    clear(tbody);
    state.older = p.older;
    state.shownNewest = p.newest;
    state.total = p.total;
    for (const r of p.rows) tbody.appendChild(rowOf(r));
    if (!p.rows.length) {
      tbody.appendChild(el('tr', { class: 'empty' }, el('td', { colspan: 7, text: p.total ? 'no request matches' : 'no request yet: POST callbacks to the listener' })));
    }
    const first = p.rows.length ? state.cursors.length * PAGE + 1 : 0;
    let msg = p.rows.length ? 'requests ' + first + '–' + (first + p.rows.length - 1) + ' of ' + p.matched + ' matching' : p.matched + ' matching';
    if (p.held < p.total) msg += ' (the newest ' + p.held + ' of ' + p.total + ' are kept)';
    document.getElementById('count').textContent = msg;
    document.getElementById('older').disabled = p.older < 0;
    document.getElementById('newer').disabled = state.cursors.length === 0;
    document.getElementById('newest').disabled = state.cursors.length === 0;
    document.getElementById('arrivals').hidden = true;
  }

  function rowOf(r) {
    const go = '#/r/' + r.id;
    const where = r.file ? r.file + ':' + r.line : '';
    const tr = el('tr', { class: 'row ' + r.verdict, 'data-id': r.id },
      el('td', { class: 'seq' }, link(go, '#' + r.seq)),
      el('td', { class: 'time', title: where || null, text: clock(r.time) || where }),
      el('td', { class: 'req' }, el('span', { class: 'method', text: r.method || '—' }), ' ', el('span', { class: 'path', text: r.path })),
      el('td', { class: 'kind', text: r.kind || '—' }),
      el('td', { class: 'stream', text: r.streamText || '' }),
      el('td', { class: 'verdict' }, verdictBadge(r), r.codes ? el('span', { class: 'codes', text: r.codes.join(' ') }) : null),
      el('td', { class: 'answer', text: r.status ? '→ ' + r.status + (r.forwarded ? ' (forwarded)' : '') : '' }));
    tr.addEventListener('click', (ev) => { if (ev.target.tagName !== 'A') location.hash = go; });
    return tr;
  }

  function onChanged(total) {
    state.total = total;
    const { path } = parseHash();
    if (path !== '/' || !document.getElementById('rows')) return;
    if (state.cursors.length === 0) { refreshList(); return; }
    const btn = document.getElementById('arrivals');
    const n = total - 1 - state.shownNewest;
    if (n > 0) { btn.textContent = n + ' new: show the newest'; btn.hidden = false; }
  }

  // ---- the detail ----------------------------------------------------

  async function showDetail(id) {
    clear(main).appendChild(el('p', { class: 'loading', text: 'loading request ' + id + '…' }));
    let d;
    try { d = await src.detail(id); } catch (e) { clear(main).appendChild(problem(e)); return; }
    clear(main);
    const key = streamKey(d.stream);
    const head = el('h2', { class: 'detail-title' }, '#' + d.seq + ' ', el('span', { class: 'method', text: d.method || '' }), ' ',
      el('span', { class: 'path', text: d.target || '' }), ' ', verdictBadge(d));
    main.appendChild(head);
    const meta = el('dl', { class: 'meta' });
    const add = (k, v) => { if (v !== '' && v !== undefined && v !== null) meta.append(el('dt', { text: k }), el('dd', null, v)); };
    add('arrived', d.time ? dateTime(Date.parse(d.time)) : '');
    add('from', d.remote);
    add('host', d.host);
    add('kind', d.kind || 'none');
    if (key) add('stream', link('#/t/' + encodeURIComponent(key), d.streamText, 'stream-link'));
    for (const kf of d.keyFields || []) add(kf.name, kf.value);
    add('body', d.body.size + ' bytes' + (d.truncated ? ' (cut: larger than the listener keeps; ' + d.size + ' received)' : ''));
    if (d.file) add('in', d.file + ':' + d.line);
    if (d.redacted) add('note', 'secrets were redacted when captured (--redact)');
    if (d.masked) add('note', 'secret-looking values are masked in this report');
    if (d.broken) add('problem', d.broken);
    main.appendChild(meta);

    main.appendChild(findingsList(d.findings, 'findings'));
    main.appendChild(bodySection(d));
    main.appendChild(headersSection(d.headers));
    main.appendChild(answerSection(d.answer));
    main.appendChild(actions(d));
  }

  function findingsList(fs, id) {
    const sec = el('section', { class: 'findings', id: id });
    if (!fs.length) {
      sec.appendChild(el('p', { class: 'none', text: 'no findings' }));
      return sec;
    }
    const ul = el('ul');
    for (const f of fs) {
      ul.appendChild(el('li', { class: 'finding ' + f.severity, 'data-code': f.code, 'data-path': f.path },
        el('span', { class: 'sev', text: f.severity }), ' ',
        el('code', { class: 'fpath', text: f.path || '(body)' }), ' ',
        el('span', { class: 'msg', text: f.message }), ' ',
        el('span', { class: 'code', text: '[' + f.code + ']' })));
    }
    sec.appendChild(el('h3', { text: fs.length + (fs.length === 1 ? ' finding' : ' findings') }));
    sec.appendChild(ul);
    return sec;
  }

  // The body, pretty-printed with each finding marked on the line of its
  // JSON path, or raw (line by line), or as a hex dump.
  function bodySection(d) {
    const b = d.body;
    const sec = el('section', { class: 'body' }, el('h3', { text: 'body' }));
    const tabs = el('div', { class: 'tabs' });
    const panes = el('div', { class: 'panes' });
    const views = [];
    const marks = {};
    for (const f of d.findings) if (f.at >= 0) (marks[f.at] = marks[f.at] || []).push(f);
    if (b.pretty) views.push(['pretty', linesView(b.pretty.map((l) => l.text), b.pretty.map((l) => l.path), marks, 'pretty')]);
    if (b.lines) views.push(['raw', linesView(b.lines, null, b.pretty ? {} : marks, 'raw')]);
    else if (b.text !== undefined && b.text !== null) views.push(['raw', el('pre', { class: 'raw', text: b.text })]);
    if (b.hex) views.push(['hex', el('pre', { class: 'hex', text: b.hex + (b.hexCut ? '(the first 64 KiB)\n' : '') })]);
    if (!views.length) views.push(['raw', el('p', { class: 'none', text: 'empty body' })]);
    if (b.text === undefined || b.text === null) sec.appendChild(el('p', { class: 'note', text: 'the body is not UTF-8: shown as hex' }));
    views.forEach(([name, node], i) => {
      const btn = el('button', { type: 'button', class: 'tab', 'data-view': name, text: name });
      node.hidden = i !== 0;
      btn.classList.toggle('active', i === 0);
      btn.addEventListener('click', () => {
        for (const [, n] of views) n.hidden = true;
        for (const t of tabs.children) t.classList.remove('active');
        node.hidden = false;
        btn.classList.add('active');
      });
      tabs.appendChild(btn);
      panes.appendChild(node);
    });
    sec.append(tabs, panes);
    return sec;
  }

  function linesView(texts, paths, marks, cls) {
    const pre = el('div', { class: 'code ' + cls });
    texts.forEach((t, i) => {
      const ms = marks[i] || [];
      const worst = ms.some((m) => m.severity === 'error') ? 'error' : ms.length ? 'warning' : '';
      pre.appendChild(el('div', { class: 'line' + (worst ? ' has-finding ' + worst : ''), 'data-path': paths ? paths[i] : null, 'data-line': i + 1 },
        el('span', { class: 'ln', text: String(i + 1) }), el('span', { class: 'text', text: t })));
      for (const m of ms) {
        pre.appendChild(el('div', { class: 'mark ' + m.severity, 'data-path': m.path, 'data-code': m.code },
          el('span', { class: 'code', text: m.code }), ' ',
          el('span', { class: 'msg', text: (m.exact ? '' : (m.path ? m.path + ' (not in the body): ' : '')) + m.message })));
      }
    });
    return pre;
  }

  function headersSection(hs) {
    const t = el('table', { class: 'headers' });
    for (const h of hs) {
      t.appendChild(el('tr', null, el('th', { text: h.name }), el('td', { text: h.value + (h.exact ? '' : '  (not UTF-8: shown escaped)') })));
    }
    return el('section', { class: 'headers' }, el('h3', { text: 'headers' }), hs.length ? t : el('p', { class: 'none', text: 'none' }));
  }

  function answerSection(a) {
    const sec = el('section', { class: 'answer' }, el('h3', { text: 'answer' }));
    if (!a || !a.status) { sec.appendChild(el('p', { class: 'none', text: 'not known (not from a capture log)' })); return sec; }
    sec.appendChild(el('p', null, el('span', { class: 'status', text: String(a.status) }),
      a.forwarded ? ' from ' + a.forwarded + (a.latencyMs ? ' in ' + a.latencyMs.toFixed(1) + ' ms' : '') : ' by the listener'));
    if (a.error) sec.appendChild(el('p', { class: 'problem', text: a.error }));
    if (a.body) sec.appendChild(el('pre', { class: 'answer-body', text: a.body }));
    return sec;
  }

  function copyBox(sec) {
    const area = el('textarea', { id: 'cmd-text', readonly: true, rows: 6, spellcheck: 'false' });
    const box = el('div', { id: 'cmd', class: 'cmd', hidden: true }, el('p', { id: 'cmd-note', class: 'note' }), area);
    sec.appendChild(box);
    return (text, what) => {
      area.value = text;
      box.hidden = false;
      area.focus();
      area.select();
      const note = document.getElementById('cmd-note');
      note.textContent = what + ': select and copy';
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(() => { note.textContent = what + ': copied to the clipboard'; }, () => {});
      }
    };
  }

  function actions(d) {
    const sec = el('section', { class: 'actions' }, el('h3', { text: 'actions' }));
    const bar = el('div', { class: 'bar' });
    sec.appendChild(bar);
    const show = copyBox(sec);
    const curl = el('button', { id: 'copy-curl', type: 'button', text: 'copy as curl' });
    curl.addEventListener('click', () => show(d.curl, 'curl command'));
    const send = el('button', { id: 'copy-send', type: 'button', text: 'copy as livecb send' });
    send.addEventListener('click', () => show(d.send, 'livecb send command'));
    const save = el('button', { id: 'save-body', type: 'button', text: 'save body as fixture' });
    save.addEventListener('click', () => {
      const blob = new Blob([bytesOf(d.body)], { type: 'application/octet-stream' });
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: d.fixture, hidden: true });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
    bar.append(curl, send, save);
    if (src.live && !d.broken) {
      const open = el('button', { id: 'resend-open', type: 'button', text: 'resend…' });
      bar.prepend(open);
      const panel = resendPanel(d);
      panel.hidden = true;
      open.addEventListener('click', () => { panel.hidden = !panel.hidden; });
      sec.appendChild(panel);
    }
    return sec;
  }

  // The resend panel: to the forward target or a URL typed in, the body as
  // it arrived or edited (validated by the server as it is typed).
  function resendPanel(d) {
    const url = el('input', { id: 'resend-url', type: 'url', placeholder: 'http://127.0.0.1:3000/callbacks', value: d.resendUrl || '', 'aria-label': 'resend to' });
    const canEdit = d.body.text !== undefined && d.body.text !== null;
    const edit = el('input', { id: 'resend-edit', type: 'checkbox', disabled: !canEdit });
    const area = el('textarea', { id: 'resend-body', rows: 14, spellcheck: 'false', hidden: true });
    area.value = canEdit ? d.body.text : ''; // exact: a reformat would lose digits of big numbers
    const check = el('div', { id: 'resend-check', class: 'check', hidden: true });
    const go = el('button', { id: 'resend-send', type: 'button', class: 'primary', text: 'send' });
    const result = el('div', { id: 'resend-result', class: 'result' });
    let timer = null;
    let seq = 0;
    const validate = async () => {
      const mine = ++seq;
      try {
        const res = await src.check(area.value);
        if (mine !== seq) return;
        clear(check).appendChild(el('p', { class: 'verdict-line ' + (res.valid ? 'valid' : 'invalid'),
          text: (res.kind || 'no known kind') + ': ' + (res.valid ? (res.findings.length ? 'valid, with warnings' : 'valid') : 'invalid') }));
        check.appendChild(findingsList(res.findings, 'resend-findings'));
      } catch (e) { clear(check).appendChild(problem(e)); }
    };
    edit.addEventListener('change', () => {
      area.hidden = !edit.checked;
      check.hidden = !edit.checked;
      if (edit.checked) validate();
    });
    area.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(validate, 250); });
    go.addEventListener('click', async () => {
      go.disabled = true;
      clear(result).appendChild(el('p', { class: 'loading', text: 'sending…' }));
      try {
        const res = await src.resend(d.id, url.value.trim(), edit.checked ? area.value : null);
        clear(result);
        const line = el('p', { class: 'resend-answer' });
        if (res.error) line.append(el('span', { class: 'badge invalid', text: res.cause || 'failed' }), ' ', res.error);
        else line.append(el('span', { class: 'status', text: String(res.status) }), ' from ' + res.url + ' in ' + res.latencyMs.toFixed(1) + ' ms');
        result.appendChild(line);
        result.appendChild(el('p', { class: 'note', text: 'sent ' + res.sent + ' bytes' + (res.edited ? ' (edited)' : ' (as received)') }));
        if (res.answer) result.appendChild(el('pre', { class: 'answer-body', text: res.answer }));
      } catch (e) {
        clear(result).appendChild(problem(e));
      } finally {
        go.disabled = false;
      }
    });
    return el('div', { id: 'resend', class: 'resend' },
      el('label', null, 'to ', url),
      el('label', { class: 'inline' }, edit, ' edit the body first' + (canEdit ? '' : ' (not UTF-8: sent as received)')),
      area, check, el('div', null, go), result);
  }

  // ---- streams and timelines -----------------------------------------

  async function showStreams() {
    clear(main).appendChild(el('p', { class: 'loading', text: 'loading streams…' }));
    let ss;
    try { ss = await src.streams(); } catch (e) { clear(main).appendChild(problem(e)); return; }
    clear(main);
    const t = el('table', { id: 'streams', class: 'streams' },
      el('thead', null, el('tr', null, el('th', { text: 'publishDomain/appName/streamName' }), el('th', { text: 'requests' }),
        el('th', { text: 'kinds' }), el('th', { text: 'invalid' }), el('th', { text: 'last' }))));
    const tb = el('tbody');
    for (const s of ss) {
      const k = streamKey(s.key);
      const kinds = Object.entries(s.kinds || {}).map(([n, c]) => n + ' ' + c).join(', ');
      tb.appendChild(el('tr', null, el('td', null, link('#/t/' + encodeURIComponent(k), s.text, 'stream-link')),
        el('td', { text: String(s.requests) }), el('td', { text: kinds }), el('td', { text: String(s.invalid) }), el('td', { text: clock(s.last) })));
    }
    if (!ss.length) tb.appendChild(el('tr', null, el('td', { colspan: 5, text: 'no callback about a stream yet' })));
    t.appendChild(tb);
    main.appendChild(t);
  }

  async function showTimeline(rawKey) {
    const key = rawKey;
    clear(main).appendChild(el('p', { class: 'loading', text: 'loading the timeline…' }));
    let tl;
    try { tl = await src.timeline(key); } catch (e) { clear(main).appendChild(problem(e)); return; }
    clear(main);
    main.appendChild(el('h2', { class: 'timeline-title', text: tl.streamText }));
    main.appendChild(el('p', { class: 'note' },
      tl.requests + ' requests, ' + dateTime(tl.from) + ' to ' + dateTime(tl.to) + ' (' + duration(tl.to - tl.from) + ')',
      tl.left ? '; the ' + tl.left + ' oldest not drawn' : '',
      tl.unavailable ? '; ' + tl.unavailable + ' no longer held' : '', ' · ',
      link(filterHash({ stream: key }), 'its requests', 'stream-requests')));
    main.appendChild(drawTimeline(tl));
    const ul = el('ul', { id: 'anomalies', class: 'anomalies' });
    for (const a of tl.anomalies) {
      const li = el('li', { class: 'anomaly', 'data-code': a.code }, el('span', { class: 'code', text: a.code }), ' ', a.message, ' ');
      a.ids.forEach((id, i) => li.append(link('#/r/' + id, '#' + (a.nums ? a.nums[i] : id), 'open'), ' '));
      ul.appendChild(li);
    }
    main.appendChild(el('section', { class: 'anomaly-list' },
      el('h3', { text: tl.anomalies.length ? tl.anomalies.length + ' anomalies' : 'no anomaly' }), ul));
  }

  // drawTimeline draws a stream's life as SVG: an axis, then one lane each
  // for the publish spans, the snapshots, the quality problems, one per
  // recording, and the anomalies.
  function drawTimeline(tl) {
    const W = 1000, left = 110, right = 20, laneH = 18, gap = 10;
    const span = Math.max(1, tl.to - tl.from);
    const x = (ms) => left + ((ms - tl.from) / span) * (W - left - right);
    const lanes = [];
    let y = 34;
    const lane = (name) => { const l = { name, y }; lanes.push(l); y += laneH + gap; return l; };
    const pub = lane('publish');
    const snap = lane('snapshots');
    const qual = lane('quality');
    const recs = tl.records.map((r) => lane(r.kind === 'task_record_done' ? 'task record' : 'record'));
    const anom = lane('anomalies');
    const H = y + 4;
    const root = svg('svg', { id: 'timeline', class: 'timeline', viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    root.appendChild(svg('title', { text: 'timeline of ' + tl.streamText }));
    const open = (id) => () => { location.hash = '#/r/' + id; };

    // Axis: 6 ticks.
    const axis = svg('g', { class: 'axis' });
    axis.appendChild(svg('line', { class: 'axis-line', x1: left, x2: W - right, y1: 22, y2: 22 }));
    for (let i = 0; i <= 5; i++) {
      const t = tl.from + (span * i) / 5;
      const tx = x(t);
      axis.appendChild(svg('line', { class: 'axis-tick', x1: tx, x2: tx, y1: 18, y2: H - 4 }));
      axis.appendChild(svg('text', { class: 'tick-label', x: tx, y: 13, 'text-anchor': i === 0 ? 'start' : i === 5 ? 'end' : 'middle', text: clock(t).slice(0, 8) }));
    }
    root.appendChild(axis);
    for (const l of lanes) {
      if (l.name) root.appendChild(svg('text', { class: 'lane-label', x: 4, y: l.y + laneH - 5, text: l.name }));
    }

    const wide = (a, b) => Math.max(2, x(b) - x(a));
    for (const p of tl.publish) {
      const cls = 'publish' + (p.open ? ' open' : '') + (p.startId < 0 ? ' no-start' : '') + (p.doneId < 0 && !p.open ? ' no-done' : '');
      const r = svg('rect', { class: cls, x: x(p.start), y: pub.y, width: wide(p.start, p.end), height: laneH, 'data-start': p.startId, 'data-done': p.doneId },
        svg('title', { text: (p.startId < 0 ? 'publish_done without a start' : 'live ' + dateTime(p.start) + ' to ' + (p.open ? 'now (no publish_done yet)' : dateTime(p.end))) }));
      r.addEventListener('click', open(p.startId >= 0 ? p.startId : p.doneId));
      root.appendChild(r);
    }
    for (const a of tl.anomalies) {
      if (a.code === 'snapshot_gap' && a.end) {
        root.appendChild(svg('rect', { class: 'gap', x: x(a.at), y: snap.y, width: wide(a.at, a.end), height: laneH },
          svg('title', { text: a.message })));
      }
    }
    for (const s of tl.snapshots) {
      const l = svg('line', { class: 'snapshot', x1: x(s.at), x2: x(s.at), y1: snap.y, y2: snap.y + laneH, 'data-id': s.id },
        svg('title', { text: 'snapshot ' + dateTime(s.at) + (s.copies ? ' (' + s.copies + ' copies)' : '') }));
      l.addEventListener('click', open(s.id));
      root.appendChild(l);
    }
    for (const q of tl.quality) {
      const r = svg('rect', { class: 'quality', x: x(q.start), y: qual.y, width: wide(q.start, q.end), height: laneH, 'data-id': q.id },
        svg('title', { text: (q.label || 'quality problem') + ' ' + dateTime(q.start) + ' to ' + dateTime(q.end) }));
      r.addEventListener('click', open(q.id));
      root.appendChild(r);
    }
    tl.records.forEach((rec, i) => {
      const l = recs[i];
      const g = svg('g', { class: 'record-row', 'data-id': rec.id });
      const r = svg('rect', { class: 'record ' + rec.kind, x: x(rec.start), y: l.y, width: wide(rec.start, rec.end), height: laneH },
        svg('title', { text: rec.kind + ' ' + (rec.label || '') + ' ' + dateTime(rec.start) + ' to ' + dateTime(rec.end) + (rec.copies ? ' (' + rec.copies + ' copies)' : '') }));
      g.appendChild(r);
      for (const gr of rec.groups || []) {
        g.appendChild(svg('rect', { class: 'group', x: x(gr.start), y: l.y + 4, width: wide(gr.start, gr.end), height: laneH - 8 },
          svg('title', { text: 'group ' + dateTime(gr.start) + ' to ' + dateTime(gr.end) })));
      }
      g.addEventListener('click', open(rec.id));
      root.appendChild(g);
    });
    for (const a of tl.anomalies) {
      const ax = x(a.at);
      root.appendChild(svg('line', { class: 'anomaly-line', x1: ax, x2: ax, y1: 22, y2: anom.y }));
      const m = svg('path', { class: 'anomaly-mark', 'data-code': a.code, d: 'M' + ax + ' ' + anom.y + ' l7 ' + laneH + ' h-14 z' },
        svg('title', { text: a.code + ': ' + a.message }));
      if (a.ids.length) m.addEventListener('click', open(a.ids[a.ids.length - 1]));
      root.appendChild(m);
    }
    return el('div', { class: 'timeline-wrap' }, root);
  }

  // ---- contract test reports -----------------------------------------

  function showCases(params) {
    clear(main);
    const t = src.tests;
    if (!t) { main.appendChild(problem('no contract test results here')); return; }
    const c = t.counts;
    main.appendChild(el('h2', null, 'contract suite against ', el('span', { class: 'target', text: t.target || '' })));
    main.appendChild(el('p', { class: 'summary' },
      el('span', { class: 'badge ' + (c.fail ? 'invalid' : 'valid'), text: c.fail ? 'FAIL' : 'PASS' }), ' ',
      c.total + ' cases: ' + c.pass + ' passed, ' + c.fail + ' failed' + (c.skip ? ', ' + c.skip + ' skipped' : '') +
      (t.durationMs !== undefined ? ' in ' + duration(t.durationMs) : '') + (t.seed ? ' · seed ' + t.seed : '') +
      (t.started ? ' · ' + dateTime(Date.parse(t.started)) : '')));
    const outcome = el('select', { id: 'f-outcome', 'aria-label': 'outcome' },
      el('option', { value: '', text: 'every outcome' }), el('option', { value: 'fail', text: 'failed' }),
      el('option', { value: 'pass', text: 'passed' }), el('option', { value: 'skip', text: 'skipped' }));
    outcome.value = params.get('outcome') || '';
    const text = el('input', { id: 'f-case', type: 'search', placeholder: 'search cases…', value: params.get('q') || '' });
    main.appendChild(el('section', { class: 'filters' }, outcome, text));
    const list = el('div', { id: 'families' });
    main.appendChild(list);
    const render = () => {
      clear(list);
      const q = text.value.trim().toLowerCase();
      for (const fam of t.families) {
        const cases = fam.cases.filter((k) => (!outcome.value || k.outcome === outcome.value) &&
          (!q || (k.name + '\n' + k.rule + '\n' + (k.reason || '')).toLowerCase().includes(q)));
        if (!cases.length) continue;
        const failed = cases.filter((k) => k.outcome === 'fail').length;
        const sec = el('section', { class: 'family', 'data-family': fam.name },
          el('h3', null, fam.name + ' ', el('span', { class: 'count', text: cases.length + ' cases' + (failed ? ', ' + failed + ' failed' : '') })));
        for (const k of cases) sec.appendChild(caseView(k));
        list.appendChild(sec);
      }
      if (!list.firstChild) list.appendChild(el('p', { class: 'none', text: 'no case matches' }));
    };
    outcome.addEventListener('change', render);
    text.addEventListener('input', render);
    render();
  }

  function caseView(k) {
    const d = el('details', { class: 'case ' + k.outcome, 'data-case': k.name, open: k.outcome === 'fail' });
    d.appendChild(el('summary', null, el('span', { class: 'badge ' + ({ pass: 'valid', fail: 'invalid', skip: 'other' }[k.outcome] || ''), text: k.outcome.toUpperCase() }), ' ',
      el('span', { class: 'case-name', text: k.name }), ' ', el('span', { class: 'dur', text: duration(k.durationMs || 0) })));
    d.appendChild(el('p', { class: 'rule' }, el('b', { text: 'rule: ' }), k.rule || ''));
    if (k.reason) d.appendChild(el('p', { class: 'reason' }, el('b', { text: 'reason: ' }), k.reason));
    for (const [i, x] of (k.exchanges || []).entries()) {
      const ex = el('div', { class: 'exchange' + (x.failed ? ' failed' : '') });
      ex.appendChild(el('p', { class: 'ex-head' }, (i + 1) + '. ', el('span', { class: 'kind', text: x.kind || 'body' }), ' → ',
        el('span', { class: 'url', text: x.url }), ' ', el('span', { class: 'status', text: x.status ? String(x.status) : (x.error ? x.cause || 'failed' : '') }),
        ' ', el('span', { class: 'dur', text: duration(x.durationMs || 0) })));
      if (x.error) ex.appendChild(el('p', { class: 'problem', text: x.error }));
      ex.appendChild(el('p', { class: 'label', text: 'request' }));
      ex.appendChild(el('pre', { class: 'req-body', text: x.request !== undefined ? x.request : '(' + x.requestSize + ' bytes, not UTF-8)' }));
      if (x.answer) {
        ex.appendChild(el('p', { class: 'label', text: 'answer' }));
        ex.appendChild(el('pre', { class: 'answer-body', text: x.answer }));
      }
      d.appendChild(ex);
    }
    return d;
  }

  // ---- start ---------------------------------------------------------

  async function start() {
    try { state.info = await src.info(); } catch (e) { clear(main).appendChild(problem(e)); return; }
    const inf = state.info;
    titleEl.textContent = inf.title || 'livecb inspector';
    document.title = (inf.title ? inf.title + ' · ' : '') + 'livecb inspector';
    clear(nav);
    if (inf.mode !== 'report-tests') {
      nav.append(el('a', { href: '#/', 'data-page': 'requests', text: 'requests' }), el('a', { href: '#/streams', 'data-page': 'streams', text: 'streams' }));
    }
    if (src.tests) nav.append(el('a', { href: '#/cases', 'data-page': 'cases', text: 'contract cases' }));
    if (src.live && inf.mode === 'live') {
      src.follow(onChanged, (up) => {
        statusEl.textContent = up ? 'live' : 'reconnecting…';
        statusEl.className = 'status ' + (up ? 'up' : 'down');
      });
    } else {
      statusEl.textContent = inf.mode === 'live' ? '' : (src.live ? 'files' : 'report');
    }
    window.addEventListener('hashchange', route);
    route();
  }

  start();
})();
