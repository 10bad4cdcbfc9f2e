/* Start Swagger UI on the API's OpenAPI document (a file, so the page needs no inline script).
 *
 * The installed Swagger UI (4.15) renders OpenAPI 3.0 only. The document is
 * 3.1; for display it is read as 3.0: "openapi" says 3.0.3 and a 3.1 type
 * list such as ["string", "null"] becomes type "string" with nullable: true.
 * The served document itself is unchanged.
 */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var specUrl = root.getAttribute("data-spec-url");

  function as30(node) {
    if (Array.isArray(node)) {
      return node.map(as30);
    }
    if (node === null || typeof node !== "object") {
      return node;
    }
    var out = {};
    Object.keys(node).forEach(function (key) {
      out[key] = as30(node[key]);
    });
    if (Array.isArray(node.type)) {
      var types = node.type.filter(function (t) { return t !== "null"; });
      if (types.length === 1) {
        out.type = types[0];
      } else {
        delete out.type;
      }
      if (types.length !== node.type.length) {
        out.nullable = true;
      }
    }
    return out;
  }

  fetch(specUrl, { headers: { Accept: "application/json" } })
    .then(function (response) { return response.json(); })
    .then(function (spec) {
      var shown = as30(spec);
      shown.openapi = "3.0.3";
      window.ui = SwaggerUIBundle({
        spec: shown,
        dom_id: "#swagger-ui",
        deepLinking: true,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        layout: "BaseLayout",
      });
    })
    .catch(function () {
      root.textContent = "The API document could not be loaded from " + specUrl + ".";
    });
})();
