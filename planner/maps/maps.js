/* The planner's map layers, drawn from compact JSON written by planner/maps.py.
 * Every user-supplied value is shown through DOM text nodes (textContent), never
 * innerHTML, so asset, site and campaign names cannot become markup. */
(function () {
  "use strict";
  var whole = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function cell(col, i) {
    if (typeof col === "string") return col;
    if (col.d) return col.c[i] < 0 ? null : col.d[col.c[i]];
    return col.v[i];
  }

  function money(value, currency) {
    try {
      return new Intl.NumberFormat("en-GB", {
        style: "currency", currency: currency || "GBP", maximumFractionDigits: 0
      }).format(value);
    } catch (err) {
      return whole.format(value) + " " + (currency || "");
    }
  }

  function show(col, i) {
    var v = cell(col, i);
    if (v === null || v === undefined || v === "") return null;
    if (col.f === "int") v = whole.format(v);
    else if (col.f === "money") v = money(v, col.cur ? cell(col.cur, i) : "GBP");
    else if (col.f === "bool") v = v ? "yes" : "no";
    else v = String(v);
    if (col.flag && col.flag[i]) v += " (" + col.flagText + ")";
    return v;
  }

  function table(rows) {
    var t = el("table", "pm-table");
    rows.forEach(function (r) {
      var tr = el("tr");
      tr.appendChild(el("th", null, r[0]));
      tr.appendChild(el("td", null, r[1]));
      t.appendChild(tr);
    });
    return t;
  }

  function bookings(root, book, i) {
    var rows = book.b[i];
    if (!rows) return;
    root.appendChild(el("div", "pm-head", "Booked"));
    var list = el("ul", "pm-list");
    rows.forEach(function (r) {
      var text = book.camps[r[0]];
      if (r[2]) text += " — " + r[2];
      if (r[1]) text += " — cycle" + (/[-;]/.test(r[1]) ? "s " : " ") + r[1].split(";").join(", ");
      list.appendChild(el("li", null, text));
    });
    root.appendChild(list);
  }

  function eligibility(root, elig, i) {
    var p = elig.p[i];
    if (p === undefined || p < 0) return;
    var allowed = [];
    var refusals = {};  // one line per distinct reason, naming every category it refuses
    var order = [];
    elig.profiles[p].forEach(function (r) {
      if (r[1]) { allowed.push(elig.cats[r[0]]); return; }
      var reason = elig.reasons[r[2]] || "refused by policy";
      var rule = elig.rules[r[3]];
      if (rule && reason.indexOf(rule) < 0) reason += " (rule " + rule + ")";
      if (!(reason in refusals)) { refusals[reason] = []; order.push(reason); }
      refusals[reason].push(elig.cats[r[0]]);
    });
    root.appendChild(el("div", "pm-head", "Eligibility"));
    root.appendChild(el("div", "pm-allowed",
      "Allowed: " + (allowed.length ? allowed.join(", ") : "no category")));
    if (!order.length) return;
    root.appendChild(el("div", "pm-sub", "Restricted:"));
    var list = el("ul", "pm-list");
    order.forEach(function (reason) {
      list.appendChild(el("li", "pm-refused", refusals[reason].join(", ") + ": " + reason));
    });
    root.appendChild(list);
  }

  function assetPopup(data, i) {
    var root = el("div", "pm-popup");
    var rows = [];
    data.cols.forEach(function (col) {
      var v = show(col, i);
      if (v !== null) rows.push([col.label, v]);
    });
    var named = rows.filter(function (r) { return r[0] === "Name"; });
    root.appendChild(el("div", "pm-title", named.length ? named[0][1] : rows[0][1]));
    root.appendChild(table(rows.filter(function (r) { return r[0] !== "Name"; })));
    if (data.book) bookings(root, data.book, i);
    if (data.elig) eligibility(root, data.elig, i);
    return root;
  }

  // Markers shrink when zoomed out so a borough of assets does not become one blot. The
  // radius is set on "zoom", before Leaflet re-projects every path on "zoomend", so
  // resizing costs no extra redraw.
  function zoomScale(zoom) {
    return Math.max(0.4, Math.min(1.3, 1 + 0.15 * (zoom - 14)));
  }

  var AssetGroup = null;

  function assetGroupClass() {
    if (AssetGroup) return AssetGroup;
    AssetGroup = L.FeatureGroup.extend({
      onAdd: function (map) {
        this._pmScale(map);
        map.on("zoom", this._pmZoom, this);
        L.FeatureGroup.prototype.onAdd.call(this, map);
      },
      onRemove: function (map) {
        map.off("zoom", this._pmZoom, this);
        L.FeatureGroup.prototype.onRemove.call(this, map);
      },
      _pmZoom: function () { this._pmScale(this._map); },
      _pmScale: function (map) {
        var radius = Math.max(1.5, this._pmRadius * zoomScale(map.getZoom()));
        var weight = radius < 3 ? 0 : 1;
        this.eachLayer(function (m) {
          m._radius = m.options.radius = radius;
          m.options.weight = weight;
        });
      }
    });
    return AssetGroup;
  }

  function assetLayer(data, k, style) {
    var Group = assetGroupClass();
    var group = new Group();
    var opts = Object.assign({ color: "#ffffff", weight: 1, fillOpacity: 0.9 }, style);
    group._pmRadius = opts.radius;
    data.members[k].forEach(function (i) {
      var marker = L.circleMarker([data.y[i], data.x[i]], opts);
      marker.pmIndex = i;
      group.addLayer(marker);
    });
    group.bindPopup(function (layer) { return assetPopup(data, layer.pmIndex); },
      { maxWidth: 380 });
    return group;
  }

  function featurePopup(props, spec) {
    var root = el("div", "pm-popup");
    var rows = [];
    spec.fields.forEach(function (label, j) {
      var v = props.p[j];
      if (v !== null && v !== undefined && v !== "") rows.push([label, String(v)]);
    });
    root.appendChild(el("div", "pm-title", spec.title));
    root.appendChild(table(rows));
    return root;
  }

  function featureLayer(fc, spec) {
    return L.geoJSON(fc, {
      style: function (f) {
        var s = Object.assign({}, spec.style);
        if (spec.colours) s.fillColor = spec.colours[f.properties.c];
        return s;
      },
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, spec.point || {}); },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () { return featurePopup(f.properties, spec); },
          { maxWidth: 380 });
      }
    });
  }

  function swatch(item) {
    var s = el("span", "pm-swatch pm-" + (item.shape || "circle"));
    s.style.background = item.fill || item.colour;
    s.style.borderColor = item.colour;
    return s;
  }

  function legend(map, sections) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = el("div", "pm-legend leaflet-control");
      sections.forEach(function (section) {
        box.appendChild(el("div", "pm-head", section.title));
        section.items.forEach(function (item) {
          var row = el("div", "pm-row");
          row.appendChild(swatch(item));
          var text = item.label + (item.count !== undefined ? " (" + whole.format(item.count) + ")" : "");
          row.appendChild(el("span", null, text));
          box.appendChild(row);
        });
      });
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    control.addTo(map);
    return control;
  }

  function tileNote(map, tiles, text, attribution) {
    var note = L.control({ position: "bottomleft" });
    note.onAdd = function () { return el("div", "pm-note leaflet-control", text); };
    function plain() {
      if (note._map) return;
      note.addTo(map);
      map.getContainer().classList.add("pm-plain");
    }
    if (tiles) {
      tiles.on("tileerror", plain);
    } else {
      plain();
      if (map.attributionControl) map.attributionControl.addAttribution(attribution);
    }
    return note;
  }

  window.PlannerMap = {
    assetLayer: assetLayer,
    assetPopup: assetPopup,
    featureLayer: featureLayer,
    legend: legend,
    tileNote: tileNote
  };
})();
