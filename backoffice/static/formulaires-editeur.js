/* The question form of the « Formulaires » editor: shows only the settings that apply to the
   chosen type (fieldsets marked data-types="type1 type2"). Without JavaScript, every setting
   is shown and those that do not apply are ignored on save. No inline script (CSP). */
(function () {
  "use strict";

  var choix = document.querySelector(".formulaire-question select[name='type']");
  if (!choix) {
    return;
  }
  function appliquer() {
    var blocs = document.querySelectorAll(".formulaire-question [data-types]");
    for (var i = 0; i < blocs.length; i += 1) {
      var types = blocs[i].getAttribute("data-types").split(" ");
      blocs[i].hidden = types.indexOf(choix.value) === -1;
    }
  }
  choix.addEventListener("change", appliquer);
  appliquer();
})();
