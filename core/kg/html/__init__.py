"""Assets of the offline HTML view (view.html, view.css, view.js), inlined by core.kg.export_html."""
