/* nowplaying widget: <script src="https://HOST/widget.js" async></script>
 * plus <div data-nowplaying></div> anywhere on the page renders a live card.
 * Styles live in a Shadow DOM, so the host page's CSS and ours never meet.
 * Options on the div: data-theme="light|dark" (default: the visitor's preference).
 * No framework, no build step. */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script && script.src ? new URL(script.src, location.href).origin : location.origin;

  var CSS = [
    ":host{all:initial;display:block;max-width:480px;min-width:0;font:14px/1.35 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;",
    "--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d0d7de;--accent:#1a7f37;--track:#e5e8eb}",
    "@media (prefers-color-scheme:dark){:host(:not([data-theme=light])){--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--accent:#3fb950;--track:#21262d}}",
    ":host([data-theme=dark]){--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--accent:#3fb950;--track:#21262d}",
    ".card{display:flex;gap:12px;align-items:center;box-sizing:border-box;padding:12px;border:1px solid var(--line);border-radius:12px;background:var(--bg);color:var(--fg);text-decoration:none;min-width:0}",
    "a.card:hover{border-color:var(--accent)}a.card:focus-visible{outline:2px solid var(--accent);outline-offset:2px}",
    ".art{flex:0 0 auto;width:80px;height:80px;border-radius:8px;background:var(--track);object-fit:cover;display:flex;align-items:center;justify-content:center;color:var(--muted);font-size:28px}",
    ".body{flex:1 1 auto;min-width:0}",
    ".status{display:flex;align-items:center;gap:6px;color:var(--muted);font-size:12px;margin-bottom:2px}",
    ".dot{width:8px;height:8px;border-radius:50%;background:var(--muted);flex:0 0 auto}",
    ".playing .dot{background:var(--accent);animation:pulse 1.6s ease-in-out infinite}",
    "@keyframes pulse{50%{opacity:.35}}@media (prefers-reduced-motion:reduce){.playing .dot{animation:none}}",
    ".title{font-weight:600;font-size:16px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".artists,.album{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;color:var(--muted)}",
    ".album{font-size:12px}",
    ".bar{height:4px;border-radius:2px;background:var(--track);margin-top:8px;overflow:hidden}",
    ".fill{height:100%;width:0;background:var(--accent)}",
    ".times{display:flex;justify-content:space-between;font-size:11px;color:var(--muted);margin-top:2px;font-variant-numeric:tabular-nums}",
    ".badge{font-size:10px;letter-spacing:.06em;text-transform:uppercase;border:1px solid var(--line);border-radius:4px;padding:0 4px;margin-left:auto}",
    ".hint{font-size:11px;color:var(--muted);margin-top:4px}",
    "[hidden]{display:none!important}",
    "@media (max-width:360px){.art{width:56px;height:56px}.title{font-size:15px}}"
  ].join("");

  function fmt(ms) {
    if (ms == null || !isFinite(ms)) return "";
    var s = Math.max(0, Math.floor(ms / 1000));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function ago(ms) {
    var s = Math.max(0, Math.floor((Date.now() - ms) / 1000));
    if (s < 60) return "just now";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }

  function el(tag, cls, parent) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (parent) parent.appendChild(node);
    return node;
  }

  function Card(host) {
    this.host = host;
    this.doc = null;
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = el("style", null, root);
    style.textContent = CSS;
    this.link = el("a", "card", root);
    this.link.setAttribute("target", "_blank");
    this.link.setAttribute("rel", "noopener noreferrer");
    this.img = el("img", "art", this.link);
    this.img.setAttribute("alt", "");
    this.img.setAttribute("loading", "lazy");
    var self = this;
    this.img.onerror = function () { self.img.hidden = true; self.noArt.hidden = false; };
    this.noArt = el("div", "art", this.link);
    this.noArt.textContent = "\u266A";
    this.noArt.setAttribute("aria-hidden", "true");
    var body = el("div", "body", this.link);
    this.statusRow = el("div", "status", body);
    el("span", "dot", this.statusRow).setAttribute("aria-hidden", "true");
    this.status = el("span", "label", this.statusRow);
    this.badge = el("span", "badge", this.statusRow);
    this.badge.textContent = "demo";
    this.badge.title = "Simulated player: no Spotify account connected yet";
    this.live = el("div", "live", body);
    this.live.setAttribute("aria-live", "polite");
    this.live.setAttribute("aria-atomic", "true");
    this.title = el("div", "title", this.live);
    this.artists = el("div", "artists", this.live);
    this.album = el("div", "album", body);
    this.barWrap = el("div", "bar", body);
    this.barWrap.setAttribute("role", "progressbar");
    this.barWrap.setAttribute("aria-label", "Progress");
    this.fill = el("div", "fill", this.barWrap);
    this.times = el("div", "times", body);
    this.elapsed = el("span", null, this.times);
    this.total = el("span", null, this.times);
    this.hint = el("div", "hint", body);
    host.setAttribute("data-state", "loading");
    this.render();
  }

  Card.prototype.update = function (doc) {
    if (!doc || typeof doc.version !== "number") return;
    if (this.doc && doc.version < this.doc.version) return;
    this.doc = doc;
    this.render();
  };

  Card.prototype.position = function () {
    var song = this.doc && this.doc.song;
    if (!song || song.progressMs == null || song.progressAt == null) return null;
    var p = song.progressMs + (song.isPlaying ? Date.now() - song.progressAt : 0);
    return song.durationMs ? Math.min(p, song.durationMs) : p;
  };

  Card.prototype.render = function () {
    var doc = this.doc;
    var song = doc && doc.song;
    var label;
    if (!doc) label = "Loading\u2026";
    else if (!song) label = "Nothing playing yet";
    else if (song.source === "recent") {
      var when = song.playedAt ? Date.parse(song.playedAt) : NaN;
      label = "Recently played" + (isFinite(when) ? " \u00b7 " + ago(when) : "");
    } else label = song.isPlaying ? "Now playing" : "Paused";
    this.status.textContent = label;
    this.statusRow.className = "status" + (song && song.isPlaying && song.source === "current" ? " playing" : "");
    this.badge.hidden = !(doc && doc.demo);
    this.title.textContent = song ? song.name || "Untitled" : (doc ? "\u2014" : "");
    this.artists.textContent = song ? (song.artists && song.artists.length ? song.artists.join(", ") : "Unknown artist") : "";
    this.album.textContent = song && song.album ? song.album : "";
    this.album.hidden = !(song && song.album);
    if (song && song.albumImageUrl) {
      if (this.img.getAttribute("src") !== song.albumImageUrl) {
        this.img.src = song.albumImageUrl;
        this.img.hidden = false;
        this.noArt.hidden = true;
      }
      this.img.alt = (song.type === "episode" ? "Cover of " : "Album art of ") + (song.album || song.name);
    } else {
      this.img.hidden = true;
      this.img.removeAttribute("src");
      this.noArt.hidden = false;
    }
    if (song && song.spotifyUrl) {
      this.link.href = song.spotifyUrl;
      this.link.setAttribute("aria-label", label + ": " + song.name + " by " + this.artists.textContent + ". Open in Spotify");
    } else {
      this.link.removeAttribute("href");
      this.link.removeAttribute("aria-label");
    }
    var hint = "";
    if (doc && doc.stale) hint = doc.updatedAt ? "Last seen " + ago(doc.updatedAt) : "Waiting for data";
    else if (this.offline) hint = "Reconnecting\u2026";
    this.hint.textContent = hint;
    this.hint.hidden = !hint;
    this.host.setAttribute("data-state", !doc ? "loading" : !song ? "empty" : song.source === "recent" ? "recent" : song.isPlaying ? "playing" : "paused");
    this.host.setAttribute("data-version", doc ? String(doc.version) : "");
    this.tick();
  };

  Card.prototype.tick = function () {
    var song = this.doc && this.doc.song;
    var pos = this.position();
    var show = !!(song && song.source === "current" && pos != null && song.durationMs);
    this.barWrap.hidden = !show;
    this.times.hidden = !show;
    if (!show) return;
    var share = Math.max(0, Math.min(1, pos / song.durationMs));
    this.fill.style.width = (share * 100).toFixed(2) + "%";
    this.barWrap.setAttribute("aria-valuenow", String(Math.round(share * 100)));
    this.elapsed.textContent = fmt(pos);
    this.total.textContent = fmt(song.durationMs);
  };

  /* One connection per page, shared by every card on it. */
  var cards = [];
  var failures = 0;
  var source = null;
  var pollTimer = null;

  function broadcast(doc) { cards.forEach(function (c) { c.update(doc); }); }
  function setOffline(v) { cards.forEach(function (c) { if (c.offline !== v) { c.offline = v; c.render(); } }); }

  function poll() {
    fetch(origin + "/api/now-playing", { cache: "no-cache" })
      .then(function (r) { return r.json(); })
      .then(function (doc) { setOffline(false); broadcast(doc); })
      .catch(function () { setOffline(true); });
  }

  function startPolling() {
    if (pollTimer) return;
    poll();
    pollTimer = setInterval(poll, 15000);
    /* Try the live stream again now and then. */
    setTimeout(function () { clearInterval(pollTimer); pollTimer = null; failures = 0; connect(); }, 120000);
  }

  function connect() {
    if (!window.EventSource) return startPolling();
    source = new EventSource(origin + "/api/stream");
    source.addEventListener("now-playing", function (e) {
      failures = 0;
      setOffline(false);
      try { broadcast(JSON.parse(e.data)); } catch (err) { /* ignore a bad frame */ }
    });
    source.onerror = function () {
      failures += 1;
      setOffline(true);
      /* EventSource retries by itself; after repeated failures fall back to polling. */
      if (failures >= 5 || source.readyState === EventSource.CLOSED) {
        source.close();
        source = null;
        startPolling();
      }
    };
  }

  function mount() {
    var nodes = document.querySelectorAll("[data-nowplaying]");
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].__nowplaying) continue;
      nodes[i].__nowplaying = new Card(nodes[i]);
      cards.push(nodes[i].__nowplaying);
    }
    if (cards.length && !source && !pollTimer) connect();
  }

  setInterval(function () { cards.forEach(function (c) { c.tick(); }); }, 500);
  setInterval(function () { cards.forEach(function (c) { c.render(); }); }, 30000);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
