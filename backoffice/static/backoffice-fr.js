/* French for the widgets of Flask-Admin's filters and bulk actions.

   Flask-Babel translates the server's strings (Flask-Admin's own "admin" catalogue, in
   French): the menus, buttons and flash messages. The English that remained came from the
   scripts Flask-Admin ships, which carry their own texts and which it starts without a locale:
   - moment 2.9: month and day names of the date pickers → a "fr" locale, made current (the
     pickers read it when they are built; Monday first);
   - bootstrap-daterangepicker 1.3: « Apply », « Cancel », « From », « To »... have no global
     default, only a per-call option that Flask-Admin's form.js never passes → the plugin is
     wrapped, once, when form.js announces "adminFormReady" (daterangepicker.js is loaded by
     then, and no filter widget is built yet: this script is loaded before form.js, so its
     handler runs first);
   - select2 3.5: « No matches found », « Searching… »... → its global defaults.
   Loaded by templates/backoffice/base.html after moment and select2. The date format of the
   filters (AAAA-MM-JJ, and " to " between the two dates of a range) is their URL value's: it
   stays. */
(function ($, moment) {
  "use strict";
  if (!$) {
    return;
  }

  if (moment && moment.locale) {
    moment.locale("fr", {
      months: "janvier_février_mars_avril_mai_juin_juillet_août_septembre_octobre_novembre_décembre".split("_"),
      monthsShort: "janv._févr._mars_avr._mai_juin_juil._août_sept._oct._nov._déc.".split("_"),
      weekdays: "dimanche_lundi_mardi_mercredi_jeudi_vendredi_samedi".split("_"),
      weekdaysShort: "dim._lun._mar._mer._jeu._ven._sam.".split("_"),
      weekdaysMin: "di_lu_ma_me_je_ve_sa".split("_"),
      longDateFormat: {
        LT: "HH:mm", LTS: "HH:mm:ss", L: "DD/MM/YYYY", LL: "D MMMM YYYY",
        LLL: "D MMMM YYYY HH:mm", LLLL: "dddd D MMMM YYYY HH:mm"
      },
      week: {dow: 1, doy: 4}
    });
    moment.locale("fr");
  }

  function pluriel(nombre, mot) {
    return nombre + " " + mot + (nombre > 1 ? "s" : "");
  }

  if ($.fn.select2 && $.fn.select2.defaults) {
    $.extend($.fn.select2.defaults, {
      formatMatches: function (n) {
        return n === 1 ? "Un résultat ; appuyez sur Entrée pour le choisir." :
          n + " résultats ; utilisez les flèches haut et bas pour naviguer.";
      },
      formatNoMatches: function () { return "Aucun résultat"; },
      formatAjaxError: function () { return "Le chargement a échoué"; },
      formatInputTooShort: function (saisie, min) {
        return "Saisissez encore " + pluriel(min - saisie.length, "caractère");
      },
      formatInputTooLong: function (saisie, max) {
        return "Supprimez " + pluriel(saisie.length - max, "caractère");
      },
      formatSelectionTooBig: function (limite) {
        return "Vous ne pouvez choisir que " + pluriel(limite, "élément");
      },
      formatLoadMore: function () { return "Chargement de résultats supplémentaires…"; },
      formatSearching: function () { return "Recherche en cours…"; }
    });
  }

  var LIBELLES = {
    applyLabel: "Appliquer",
    cancelLabel: "Annuler",
    fromLabel: "Du",
    toLabel: "Au",
    weekLabel: "S",
    customRangeLabel: "Autre période"
  };

  $(document).on("adminFormReady", function () {
    var plugin = $.fn.daterangepicker;
    if (!plugin || plugin.francais) {
      return;
    }
    var francais = function (options, rappel) {
      var reglages = $.extend({}, options);
      reglages.locale = $.extend({}, LIBELLES, reglages.locale);
      return plugin.call(this, reglages, rappel);
    };
    francais.francais = true;
    $.fn.daterangepicker = francais;
  });
})(window.jQuery, window.moment);
