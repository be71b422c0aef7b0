// The trip map: a Natural Earth basemap (coastlines, land, borders) drawn by Leaflet from the
// vendored TopoJSON, with the organisation's terminals as ports, the trip's sites with their
// geofences at true size, the track, events with a place and the openings the charts mark.
// Nothing is fetched from outside cargowatch.
(function () {
  "use strict";
  var box = document.getElementById("trip-map");
  var source = document.getElementById("trip-map-data");
  if (!box || !source || typeof L === "undefined") { return; }
  var data = JSON.parse(source.textContent || "{}");
  var map = L.map(box, { preferCanvas: false, worldCopyJump: true, zoomSnap: 0.5 });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Natural Earth (public domain) · Leaflet");
  map.createPane("land").style.zIndex = 200;
  map.createPane("borders").style.zIndex = 250;

  function esc(text) {
    var d = document.createElement("div");
    d.textContent = String(text);
    return d.innerHTML;
  }

  var layers = {};
  var bounds = [];
  var ports = L.layerGroup();
  (data.ports || []).forEach(function (p) {
    L.circleMarker([p.lat, p.lon], { radius: 3, color: "#555", weight: 1, fillOpacity: 0.6 })
      .bindTooltip(esc(p.label)).addTo(ports);
  });
  layers["Ports (terminals)"] = ports.addTo(map);

  var sites = L.layerGroup();
  (data.sites || []).forEach(function (s) {
    L.circle([s.lat, s.lon], { radius: s.radius, color: "#2e8b57", weight: 2, fillOpacity: 0.15 })
      .bindTooltip(esc(s.label + " · geofence " + Math.round(s.radius) + " m")).addTo(sites);
    L.circleMarker([s.lat, s.lon], { radius: 4, color: "#2e8b57", fillOpacity: 1 }).addTo(sites);
    bounds.push([s.lat, s.lon]);
  });
  layers["Sites and geofences"] = sites.addTo(map);

  var track = L.layerGroup();
  var points = (data.track || []).map(function (t) { return [t[0], t[1]]; });
  if (points.length > 1) {
    L.polyline(points, { color: "#1f5f99", weight: 2, opacity: 0.8 }).addTo(track);
  }
  (data.track || []).forEach(function (t, i) {
    if (i === 0 || i === data.track.length - 1) {
      L.circleMarker([t[0], t[1]], { radius: 5, color: "#1f5f99", fillColor: "#fff", fillOpacity: 1 })
        .bindTooltip((i === 0 ? "first position " : "last position ") + esc(t[2])).addTo(track);
    }
    bounds.push([t[0], t[1]]);
  });
  layers["Track"] = track.addTo(map);

  var events = L.layerGroup();
  (data.events || []).forEach(function (e) {
    L.circleMarker([e.lat, e.lon], { radius: 5, color: "#333", weight: 1, fillColor: "#777", fillOpacity: 0.9 })
      .bindTooltip(esc(e.label))
      .on("click", function () { window.location.href = "/events/" + encodeURIComponent(e.id); })
      .addTo(events);
    bounds.push([e.lat, e.lon]);
  });
  layers["Events"] = events.addTo(map);

  var openings = L.layerGroup();
  (data.openings || []).forEach(function (o) {
    L.circleMarker([o.lat, o.lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#c0392b", fillOpacity: 1 })
      .bindTooltip(esc(o.label)).addTo(openings);
    bounds.push([o.lat, o.lon]);
  });
  layers["Openings"] = openings.addTo(map);
  L.control.layers(null, layers, { collapsed: box.clientWidth < 700 }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  if (bounds.length) {
    map.fitBounds(L.latLngBounds(bounds).pad(0.25), { maxZoom: 14 });
  } else {
    map.setView([20, 0], 2);
  }

  fetch("/static/vendor/countries-50m.json")
    .then(function (r) { return r.json(); })
    .then(function (topo) {
      var land = topojson.feature(topo, topo.objects.land);
      var borders = topojson.mesh(topo, topo.objects.countries, function (a, b) { return a !== b; });
      L.geoJSON(land, { pane: "land", interactive: false,
        style: { color: "#7a8a99", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1 } }).addTo(map);
      L.geoJSON(borders, { pane: "borders", interactive: false,
        style: { color: "#9a8f80", weight: 1, dashArray: "4 3", fill: false } }).addTo(map);
    })
    .catch(function () { box.classList.add("no-basemap"); });
})();
