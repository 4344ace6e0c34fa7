// Swagger UI for the API's OpenAPI document, from the platform's own copy (no third-party CDN).
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
