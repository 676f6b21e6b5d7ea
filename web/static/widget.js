/* nowplaying widget: <script src="https://HOST/widget.js" async></script>
 * plus <div data-nowplaying></div> anywhere on the page renders a live card.
 * Styles live in a Shadow DOM, so the host page's CSS and ours never meet.
 * View options as data-* attributes on the div, the same names and grammar as the SVG
 * card's query (web/options.py): data-theme="light|dark|auto", data-bg="transparent|#hex",
 * data-accent="#hex", data-size="compact|normal|wide", data-art="show|hide",
 * data-idle="show|hide|a message", data-hideAfter="seconds", data-clean="on|off",
 * data-explicit="show|hide". A malformed value is a console warning and its default.
 * data-history="N" (1 to 10) lists the last N plays (GET /api/history) under the card.
 * Links are only ever https:, images https:, this server's own or data:image/.
 * No framework, no build step. */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script && script.src ? new URL(script.src, location.href).origin : location.origin;

  var LIGHT = "--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d0d7de;--accent:#1a7f37;--track:#e5e8eb";
  var DARK = "--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--accent:#3fb950;--track:#21262d";
  var CSS = [
    ":host{all:initial;display:block;max-width:480px;min-width:0;font:14px/1.35 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif}",
    ":host([data-np-size=wide]){max-width:640px}:host([data-np-size=compact]){max-width:340px}",
    ":host([data-np-layout=overlay]){max-width:none}",
    ".card,.hist{" + LIGHT + "}.card.dark,.hist.dark{" + DARK + "}@media (prefers-color-scheme:dark){.card.auto,.hist.auto{" + DARK + "}}",
    ".hist{list-style:none;margin:6px 0 0;padding:4px 12px;border:1px solid var(--line);border-radius:12px;background:var(--bg);color:var(--fg)}",
    ".hist.clear{border-color:transparent}",
    ".hist li{display:flex;gap:10px;align-items:center;padding:6px 0;min-width:0}.hist li+li{border-top:1px solid var(--line)}",
    ".hist .h-art{flex:0 0 auto;width:36px;height:36px;border-radius:6px;background:var(--track);object-fit:cover}",
    ".hist .h-body{flex:1 1 auto;min-width:0}.hist .h-title{font-weight:600;font-size:13px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".hist .h-artists{font-size:12px;color:var(--muted);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".hist .h-when{flex:0 0 auto;font-size:11px;color:var(--muted);font-variant-numeric:tabular-nums}",
    ".hist a{color:inherit;text-decoration:none}.hist a:hover .h-title{text-decoration:underline}",
    ".compact+.hist .h-art{width:24px;height:24px}",
    ".card{display:flex;gap:12px;align-items:center;box-sizing:border-box;padding:12px;border:1px solid var(--line);border-radius:12px;background:var(--bg);color:var(--fg);text-decoration:none;min-width:0;transition:opacity .5s ease,visibility .5s}",
    ".card.clear{border-color:transparent}",
    ".card.gone{opacity:0;visibility:hidden}",
    "a.card:hover{border-color:var(--accent)}a.card:focus-visible{outline:2px solid var(--accent);outline-offset:2px}",
    ".art{flex:0 0 auto;width:80px;height:80px;border-radius:8px;background:var(--track);object-fit:cover;display:flex;align-items:center;justify-content:center;color:var(--muted);font-size:28px}",
    ".body{flex:1 1 auto;min-width:0}",
    ".status{display:flex;align-items:center;gap:6px;color:var(--muted);font-size:12px;margin-bottom:2px}",
    ".dot{width:8px;height:8px;border-radius:50%;background:var(--muted);flex:0 0 auto}",
    ".playing .dot{background:var(--accent);animation:pulse 1.6s ease-in-out infinite}",
    "@keyframes pulse{50%{opacity:.35}}",
    ".title{font-weight:600;font-size:16px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".artists,.album{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;color:var(--muted)}",
    ".album{font-size:12px}",
    ".bar{height:4px;border-radius:2px;background:var(--track);margin-top:8px;overflow:hidden}",
    ".fill{height:100%;width:0;background:var(--accent)}",
    ".times{display:flex;justify-content:space-between;font-size:11px;color:var(--muted);margin-top:2px;font-variant-numeric:tabular-nums}",
    ".badge{font-size:10px;letter-spacing:.06em;text-transform:uppercase;border:1px solid var(--line);border-radius:4px;padding:0 4px;margin-left:auto}",
    ".via{font-size:10px;margin-left:auto;opacity:.8}.badge:not([hidden])+.via{margin-left:0}",
    ".hint{font-size:11px;color:var(--muted);margin-top:4px}",
    ".compact .art{width:48px;height:48px;font-size:18px}.compact .title{font-size:14px}.compact .album,.compact .times{display:none}.compact .bar{margin-top:4px;height:3px}",
    ".overlay{border:0;padding:16px;gap:20px;text-shadow:0 1px 3px rgba(0,0,0,.45)}",
    ".overlay .art{width:140px;height:140px;border-radius:12px;font-size:48px}",
    ".overlay .title{font-size:36px}.overlay .artists{font-size:26px}.overlay .album{font-size:18px}",
    ".overlay .status{font-size:18px}.overlay .dot{width:12px;height:12px}.overlay .bar{height:6px;border-radius:3px}.overlay .times,.overlay .hint{font-size:16px}.overlay .via{font-size:14px}",
    ".enter .art,.enter .live{animation:enter .6s ease both}",
    "@keyframes enter{from{opacity:0;transform:translateY(10px)}to{opacity:1;transform:none}}",
    ".message .art,.message .status,.message .artists,.message .album,.message .bar,.message .times{display:none!important}",
    "[hidden]{display:none!important}",
    "@media (prefers-reduced-motion:reduce){.playing .dot{animation:none}.card{transition:none}.enter .art,.enter .live{animation:none}}",
    "@media (max-width:360px){.art{width:56px;height:56px}.title{font-size:15px}}"
  ].join("");

  /* ---- view options: the twin of web/options.py ---- */
  var NAMES = ["theme", "bg", "accent", "size", "art", "idle", "hideAfter", "clean", "explicit"];
  var MAX_HIDE_AFTER = 86400;

  function colour(v) {
    var m = /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.exec(v.trim());
    return m ? "#" + m[1].toLowerCase() : null;
  }

  function choice(name, v, allowed) {
    var low = v.trim().toLowerCase();
    if (allowed.indexOf(low) < 0) {
      throw name + " must be " + allowed.slice(0, -1).join(", ") + " or " + allowed[allowed.length - 1];
    }
    return low;
  }

  function one(o, name, v) {
    if (name === "theme") o.theme = choice(name, v, ["light", "dark", "auto"]);
    else if (name === "bg" || name === "accent") {
      if (name === "bg" && v.trim().toLowerCase() === "transparent") { o.bg = "transparent"; return; }
      var c = colour(v);
      if (!c) throw name + " must be " + (name === "bg" ? "'transparent' or " : "") + "a hex colour (rgb or rrggbb, '#' optional)";
      o[name] = c;
    } else if (name === "size") o.size = choice(name, v, ["compact", "normal", "wide"]);
    else if (name === "art") o.art = choice(name, v, ["show", "hide"]) === "show";
    else if (name === "clean") o.clean = choice(name, v, ["on", "off"]) === "on";
    else if (name === "explicit") o.hideExplicit = choice(name, v, ["show", "hide"]) === "hide";
    else if (name === "idle") {
      var text = v.split(/\s+/).filter(Boolean).join(" ");
      if (!text || text.length > 100 || /[\u0000-\u001f\u007f-\u009f]/.test(text)) throw "idle must be show, hide or a message of 1 to 100 letters";
      var low = text.toLowerCase();
      o.idle = low === "show" || low === "hide" ? low : text;
    } else if (name === "hideAfter") {
      var t = v.trim();
      if (!/^[0-9]+$/.test(t) || +t < 1 || +t > MAX_HIDE_AFTER) throw "hideAfter must be whole seconds from 1 to " + MAX_HIDE_AFTER;
      o.hideAfter = +t;
    }
  }

  /* get(name) returns the raw value or null; errors are collected, each bad option keeps its default. */
  function parseOptions(get, defaultTheme) {
    var o = { theme: defaultTheme || "auto", bg: null, accent: null, size: "normal", art: true, idle: "show", hideAfter: null, clean: false, hideExplicit: false };
    var errors = [];
    NAMES.forEach(function (name) {
      var v = get(name);
      if (v == null) return;
      try { one(o, name, String(v)); } catch (e) { errors.push(e + " (got " + JSON.stringify(String(v).slice(0, 40)) + ")"); }
    });
    return { options: o, errors: errors };
  }

  /* ---- title cleaning and masking: the twin of web/titles.py ---- */
  var EDITION = {};
  "remaster remastered remasters digital digitally version edition edit radio single album mono stereo bonus track anniversary deluxe expanded the in"
    .split(" ").forEach(function (w) { EDITION[w] = true; });
  var PAIRS = { "radio edit": 1, "radio version": 1, "single version": 1, "single edit": 1, "album version": 1, "mono version": 1, "stereo version": 1, "bonus track": 1 };
  var SEPARATOR = /\s+[-\u2013\u2014]\s+/g;

  function isEdition(segment) {
    var words = segment.toLowerCase().split(/[\s\/,;:.()\[\]&+-]+/).filter(Boolean);
    if (!words.length) return false;
    for (var i = 0; i < words.length; i++) {
      if (!EDITION[words[i]] && !/^(\d{2}|\d{4}|\d{1,3}(st|nd|rd|th))$/.test(words[i])) return false;
    }
    for (i = 0; i < words.length; i++) if (words[i].indexOf("remaster") === 0) return true;
    for (i = 1; i < words.length; i++) if (PAIRS[words[i - 1] + " " + words[i]]) return true;
    return false;
  }

  function cleanTitle(title) {
    var current = title.trim();
    for (;;) {
      var b = /\s*[(\[]([^()\[\]]*)[)\]]\s*$/.exec(current);
      if (b && isEdition(b[1]) && current.slice(0, b.index).trim()) { current = current.slice(0, b.index).replace(/\s+$/, ""); continue; }
      var parts = current.split(SEPARATOR);
      var tail = parts[parts.length - 1];
      if (parts.length > 1 && isEdition(tail)) {
        current = current.slice(0, current.lastIndexOf(tail)).replace(/\s+[-\u2013\u2014]\s*$/, "").replace(/\s+$/, "");
        continue;
      }
      return current || title;
    }
  }

  function maskTitle(title) {
    return title.replace(/[\p{L}\p{N}]+/gu, function (w) {
      var chars = Array.from(w);
      return chars[0] + "*".repeat(chars.length - 1);
    });
  }

  /* ---- URL schemes (#13): links https: only; images https:, this server's or data:image/ ---- */
  function safeLink(u) {
    if (typeof u !== "string") return null;
    try { return new URL(u).protocol === "https:" ? u : null; } catch (e) { return null; }
  }

  function safeImage(u) {
    if (typeof u !== "string") return null;
    if (/^data:image\//i.test(u)) return u;
    try {
      var url = new URL(u, origin);
      return url.protocol === "https:" || url.origin === origin ? url.href : null;
    } catch (e) { return null; }
  }

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

  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function el(tag, cls, parent) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (parent) parent.appendChild(node);
    return node;
  }

  /* The provider registry (shared/providers.py), one row a provider: [label, knows pause].
   * tests/test_provider_registry.py checks this table against it. */
  var PROVIDERS = {
    spotify: ["Spotify", true],
    lastfm: ["Last.fm", false],
    listenbrainz: ["ListenBrainz", false],
    lanyard: ["Lanyard", false],
    push: ["Pushed", true]
  };
  function providerLabel(name) { var row = PROVIDERS[name || "spotify"]; return row ? row[0] : ""; }
  function knowsPause(name) { var row = PROVIDERS[name || "spotify"]; return !row || row[1]; }

  /* data-history: a whole number from 1 to 10, else a console warning and no list. */
  function historyCount(host) {
    var v = host.getAttribute("data-history");
    if (v == null) return 0;
    if (!/^\s*([1-9]|10)\s*$/.test(v)) {
      console.warn("nowplaying widget: history must be a whole number from 1 to 10 (got " + JSON.stringify(String(v).slice(0, 40)) + ")");
      return 0;
    }
    return +v;
  }

  /* Repeats of one item in a row become one row with a count (as /history.svg). */
  function collapse(items, n) {
    var plays = [];
    items.forEach(function (s) {
      var last = plays[plays.length - 1];
      var same = last && last.session.provider === s.provider && last.session.type === s.type &&
        last.session.name === s.name && String(last.session.artists) === String(s.artists) &&
        last.session.album === s.album;
      if (same) last.count += 1;
      else if (plays.length < n) plays.push({ session: s, count: 1 });
    });
    return plays;
  }

  /* The overlay page (/overlay) takes its options from its own URL, OBS users' only
   * control; it defaults to a dark theme on a transparent background. */
  function readOptions(host) {
    var overlay = host.getAttribute("data-np-layout") === "overlay";
    var query = overlay ? new URLSearchParams(location.search) : null;
    var parsed = parseOptions(function (name) {
      if (query) return query.has(name) ? query.get(name) : name === "bg" ? "transparent" : null;
      var v = host.getAttribute("data-" + name.toLowerCase());
      if (v == null && name === "hideAfter") v = host.getAttribute("data-hide-after");
      return v;
    }, overlay ? "dark" : "auto");
    parsed.errors.forEach(function (e) { console.warn("nowplaying widget: " + e); });
    return parsed.options;
  }

  function Card(host) {
    this.host = host;
    this.doc = null;
    this.opts = readOptions(host);
    this.overlay = host.getAttribute("data-np-layout") === "overlay";
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
    this.img.onerror = function () { self.img.hidden = true; self.noArt.hidden = !self.opts.art; };
    this.noArt = el("div", "art", this.link);
    this.noArt.textContent = "\u266A";
    this.noArt.setAttribute("aria-hidden", "true");
    var body = el("div", "body", this.link);
    this.statusRow = el("div", "status", body);
    el("span", "dot", this.statusRow).setAttribute("aria-hidden", "true");
    this.status = el("span", "label", this.statusRow);
    this.badge = el("span", "badge", this.statusRow);
    this.badge.textContent = "demo";
    this.badge.title = "Simulated player: no account connected yet";
    this.via = el("span", "via", this.statusRow);
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
    this.key = null;
    this.shownUntil = null;
    this.history = historyCount(host);
    if (this.history) {
      this.list = el("ol", "hist", root);
      this.list.setAttribute("aria-label", "Recently played");
      this.list.hidden = true;
    }
    this.applyLook();
    host.setAttribute("data-state", "loading");
    this.render();
  }

  Card.prototype.applyLook = function () {
    var o = this.opts;
    this.host.setAttribute("data-np-size", o.size);
    if (o.bg === "transparent") this.link.style.setProperty("--bg", "transparent");
    else if (o.bg) this.link.style.setProperty("--bg", o.bg);
    if (o.accent) this.link.style.setProperty("--accent", o.accent);
    if (this.list) this.list.className = "hist " + o.theme + (o.bg === "transparent" ? " clear" : "");
    if (this.list && o.bg && o.bg !== "transparent") this.list.style.setProperty("--bg", o.bg);
    if (this.list && o.accent) this.list.style.setProperty("--accent", o.accent);
    this.look = "card " + o.theme + (o.size === "compact" ? " compact" : "") +
      (this.overlay ? " overlay" : "") + (o.bg === "transparent" ? " clear" : "");
  };

  Card.prototype.update = function (doc) {
    if (!doc || typeof doc.version !== "number") return;
    if (this.doc && doc.version < this.doc.version) return;
    this.doc = doc;
    var song = doc.song;
    var key = song ? [song.id, song.name, song.source, song.isPlaying].join("\u0001") : "";
    if (key !== this.key) {
      var first = this.key === null;
      this.key = key;
      this.changedAt = Date.now();
      if (!first) this.animateIn();
      if (this.history) this.loadHistory();
    }
    this.render();
  };

  /* ---- data-history="N": the last N plays (GET /api/history) under the live card ---- */
  Card.prototype.loadHistory = function () {
    var self = this;
    var n = this.history;
    var masked = this.opts.hideExplicit ? "&explicit=hide" : "";
    fetch(origin + "/api/history?limit=" + Math.min(100, n * 4) + masked, { cache: "no-cache" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body && Array.isArray(body.items)) self.renderHistory(collapse(body.items, n)); })
      .catch(function () { /* the live card goes on without it */ });
  };

  Card.prototype.renderHistory = function (plays) {
    var list = this.list, o = this.opts;
    while (list.firstChild) list.removeChild(list.firstChild);
    plays.forEach(function (play) {
      var s = play.session;
      var li = el("li", null, list);
      var href = safeLink(s.url);
      var box = href ? el("a", null, li) : li;
      if (href) {
        box.href = href;
        box.setAttribute("target", "_blank");
        box.setAttribute("rel", "noopener noreferrer");
        box.style.cssText = "display:flex;gap:10px;align-items:center;min-width:0;flex:1 1 auto";
      }
      var src = o.art ? safeImage(s.imageUrl) : null;
      if (o.art) {
        var art = el(src ? "img" : "div", "h-art", box);
        if (src) { art.src = src; art.alt = ""; art.setAttribute("loading", "lazy"); }
      }
      var body = el("div", "h-body", box);
      var name = String(s.name || "Untitled");
      if (o.clean) name = cleanTitle(name);
      el("div", "h-title", body).textContent = name;
      el("div", "h-artists", body).textContent = Array.isArray(s.artists) && s.artists.length ? s.artists.join(", ") : "Unknown artist";
      var when = typeof s.endedAt === "number" ? ago(s.endedAt) : "";
      /* Attribution, as the card's corner: the provider each play was read from. */
      var parts = [providerLabel(s.provider), play.count > 1 ? "\u00d7" + play.count : "", when];
      el("span", "h-when", li).textContent = parts.filter(function (p) { return p; }).join(" \u00b7 ");
    });
    list.hidden = !plays.length;
  };

  Card.prototype.animateIn = function () {
    var self = this;
    this.link.classList.remove("enter");
    void this.link.offsetWidth; /* a reflow, so that adding the class again restarts it */
    this.entering = true;
    clearTimeout(this.enterTimer);
    this.enterTimer = setTimeout(function () { self.entering = false; self.render(); }, 700);
  };

  Card.prototype.position = function () {
    var song = this.doc && this.doc.song;
    if (!song || song.progressMs == null || song.progressAt == null) return null;
    var frozen = this.doc.stale || this.doc.pausedUntil;
    var p = song.progressMs + (song.isPlaying && !frozen ? Date.now() - song.progressAt : 0);
    return song.durationMs ? Math.min(p, song.durationMs) : p;
  };

  Card.prototype.ended = function () {
    var song = this.doc && this.doc.song;
    var pos = this.position();
    return !!(song && song.isPlaying && song.source === "current" && song.durationMs && pos != null && pos >= song.durationMs && !this.doc.stale && !this.doc.pausedUntil);
  };

  Card.prototype.idle = function () {
    var song = this.doc && this.doc.song;
    return !this.doc || !song || song.source !== "current" || !song.isPlaying || this.ended();
  };

  Card.prototype.label = function () {
    var doc = this.doc, song = doc && doc.song;
    if (!doc) return "Loading\u2026";
    if (!song) return "Nothing playing yet";
    var scrobbled = !knowsPause(song.provider);
    if (song.source === "recent" || (scrobbled && !song.isPlaying)) {
      var when = song.playedAt ? Date.parse(song.playedAt) : NaN;
      return "Last played" + (isFinite(when) ? " \u00b7 " + ago(when) : "");
    }
    if (this.ended()) return "Played just now";
    return song.isPlaying ? "Now playing" : "Paused";
  };

  Card.prototype.render = function () {
    var doc = this.doc, o = this.opts;
    var song = doc && doc.song;
    var idle = doc && this.idle();
    var message = idle && o.idle !== "show" && o.idle !== "hide" ? o.idle : null;
    var hide = !!(doc && ((idle && o.idle === "hide") ||
      (o.hideAfter && this.changedAt && Date.now() - this.changedAt >= o.hideAfter * 1000)));
    var playing = song && song.isPlaying && song.source === "current" && !this.ended();
    this.link.className = this.look + (hide ? " gone" : "") +
      (message ? " message" : "") + (this.entering ? " enter" : "");
    var label = this.label();
    this.status.textContent = label;
    this.statusRow.className = "status" + (playing ? " playing" : "");
    this.badge.hidden = !(doc && doc.demo);
    this.via.textContent = song && !doc.demo ? providerLabel(song.provider) : "";
    this.via.hidden = !this.via.textContent;
    var name = song ? song.name || "Untitled" : "";
    if (song && o.clean) name = cleanTitle(name);
    if (song && o.hideExplicit && song.explicit === true) name = maskTitle(name);
    this.title.textContent = message || (song ? name : (doc ? "\u2014" : ""));
    this.artists.textContent = song ? (song.artists && song.artists.length ? song.artists.join(", ") : "Unknown artist") : "";
    this.album.textContent = song && song.album ? song.album : "";
    this.album.hidden = !(song && song.album);
    var src = song && o.art ? safeImage(song.albumImageUrl) : null;
    if (src) {
      if (this.img.getAttribute("src") !== src) {
        this.img.src = src;
        this.img.hidden = false;
        this.noArt.hidden = true;
      }
      this.img.alt = (song.type === "episode" ? "Cover of " : "Album art of ") + (song.album || song.name);
    } else {
      this.img.hidden = true;
      this.img.removeAttribute("src");
      this.noArt.hidden = !o.art;
    }
    var href = song && !message ? safeLink(song.url) || safeLink(song.spotifyUrl) : null;
    if (href) {
      this.link.href = href;
      this.link.setAttribute("aria-label", label + ": " + name + " by " + this.artists.textContent + ". Open in " + (providerLabel(song.provider) || "Spotify"));
    } else {
      this.link.removeAttribute("href");
      this.link.removeAttribute("aria-label");
    }
    var hint = "";
    if (doc && doc.pausedUntil) hint = "Spotify paused updates until " + clock(doc.pausedUntil);
    else if (doc && doc.stale) hint = doc.updatedAt ? "Last seen " + ago(doc.updatedAt) : "Waiting for data";
    else if (this.offline) hint = "Reconnecting\u2026";
    this.hint.textContent = message ? "" : hint;
    this.hint.hidden = !this.hint.textContent;
    this.host.setAttribute("data-state", !doc ? "loading" : hide ? "hidden" : !song ? "empty" : song.source === "recent" ? "recent" : song.isPlaying ? "playing" : "paused");
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

  /* Re-render when something time-based flips: the predicted end, hideAfter. */
  Card.prototype.heartbeat = function () {
    var state = [this.idle(), this.ended(), this.opts.hideAfter && this.changedAt && Date.now() - this.changedAt >= this.opts.hideAfter * 1000].join();
    if (state !== this.timeState) { this.timeState = state; this.render(); } else this.tick();
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

  /* For the test suite: the twins of web/options.py and web/titles.py. */
  window.nowplayingWidget = { parseOptions: parseOptions, cleanTitle: cleanTitle, maskTitle: maskTitle, safeLink: safeLink, safeImage: safeImage };

  setInterval(function () { cards.forEach(function (c) { c.heartbeat(); }); }, 500);
  setInterval(function () { cards.forEach(function (c) { c.render(); if (c.history) c.loadHistory(); }); }, 30000);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
