/* Back-office behaviours that Flask-Admin's templates write as inline event handlers or
   "javascript:" links, both blocked by the Content-Security-Policy (no 'unsafe-inline').

   - Bulk actions: the overridden admin/actions.html marks each item data-action-groupee.
   - Row delete: the overridden admin/model/row_actions.html marks the button data-confirmer.
   - Filter items: the overridden admin/model/layout.html drops their onclick="return false;".
   - Every "javascript:void(0)" link Flask-Admin renders (tabs, pager, dropdown toggles,
     filter items) is kept from navigating, which the CSP would refuse and report.

   The listener runs in the capture phase: some handlers (Flask-Admin's multi-level dropdown
   hack) stop the click's propagation without preventing its default action. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var cible = event.target instanceof Element ? event.target : null;
    if (!cible) {
      return;
    }
    var action = cible.closest("[data-action-groupee]");
    if (action) {
      event.preventDefault();
      if (window.modelActions) {
        window.modelActions.execute(action.getAttribute("data-action-groupee"));
      }
      return;
    }
    var confirmer = cible.closest("[data-confirmer]");
    if (confirmer && !window.confirm(confirmer.getAttribute("data-confirmer"))) {
      event.preventDefault();
      return;
    }
    var lien = cible.closest("a[href^='javascript:']");
    if (lien) {
      event.preventDefault();
    }
  }, true);

  // Flask-Admin's row checkboxes are named only by their title: give them an accessible name.
  document.querySelectorAll("input.action-checkbox, input.action-rowtoggle").forEach(function (c) {
    if (!c.getAttribute("aria-label") && c.title) {
      c.setAttribute("aria-label", c.title);
    }
  });
})();
