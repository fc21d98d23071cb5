// Swagger UI for /docs: a served file, not an inline script, so the page keeps a CSP
// without 'unsafe-inline' for scripts. validatorUrl null: never send the schema elsewhere.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: document.getElementById("swagger-ui").dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    showExtensions: true,
  });
});
