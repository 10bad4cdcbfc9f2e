/* Start Swagger UI on the API's OpenAPI 3.1 document (a file, so the page needs no inline script).
 *
 * Swagger UI 5 (from swagger-ui-py) reads OpenAPI 3.1 itself: the document is
 * shown exactly as served.
 */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    validatorUrl: null,
  });
})();
