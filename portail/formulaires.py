"""Standalone forms (``"x-standalone": true``) served at ``/formulaires/<id>``.

A definition whose sections are marked as steps is filled one page per step
(``/formulaires/<id>/etape/<n>``), kept as a draft at each page, and ends on « Vérifiez vos
réponses » (``/formulaires/<id>/verification``) before filing. A signed-in user finds the
draft again from the form's page; an anonymous one through a private link
(``/formulaires/<id>/reprendre/<token>``), shown once after the first page.

Opening a private link (GET) changes nothing in the database: an anonymous visitor's browser
remembers the draft in its session, unless it already holds another draft of the form; a
signed-in user is asked first (``reprendre.html``) whether to take the draft into her space,
and never loses the draft she already has without choosing so (POST).
"""

import click
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import CombinedMultiDict

from extensions import db, limiter
from forms import engine, etapes
from models.submission import Submission
from workflows import brouillons
from workflows.formulaires import deposer_soumission
from workflows.journal import Acteur

bp = Blueprint("formulaires", __name__, url_prefix="/formulaires", template_folder="templates")

SESSION_BROUILLONS = "brouillons"  # {form id: id of the anonymous draft of this browser}
SESSION_LIEN = "lien_brouillon"  # the private link, until the page that shows it once
RETOUR_VERIFICATION = "verification"


@bp.errorhandler(brouillons.BrouillonIndisponible)
def _brouillon_disparu(_error):
    """The draft was deleted while this request used it (filed or started again elsewhere)."""
    flash("Ce brouillon n'existe plus : il a été envoyé ou effacé entre-temps.", "info")
    return redirect(url_for(".show", form_id=request.view_args["form_id"]), 303)


def _standalone(form_id: str):
    definition = current_app.extensions["forms"].get(form_id)
    if definition is None or not definition.standalone:
        abort(404)
    return definition


@bp.get("/<form_id>")
def show(form_id: str):
    definition = _standalone(form_id)
    if etapes.en_etapes(definition):
        return render_template(
            "formulaires/debut.html",
            definition=definition,
            etapes=etapes.etapes(definition),
            brouillon=_brouillon_courant(definition),
        )
    return render_template(
        "formulaires/show.html", definition=definition, form=engine.new_form(definition)
    )


def _forms_limit() -> str:
    return current_app.config["RATELIMIT_FORMS"]


@bp.post("/<form_id>")
@limiter.limit(_forms_limit, methods=["POST"])
def submit(form_id: str):
    definition = _standalone(form_id)
    if etapes.en_etapes(definition):
        return redirect(url_for(".etape", form_id=form_id, numero=1), 303)
    outcome = engine.submit(definition, CombinedMultiDict([request.files, request.form]))
    if not outcome.valid:
        status = 200 if outcome.action else 422
        return render_template(
            "formulaires/show.html",
            definition=definition,
            form=outcome.form,
            summary=engine.summary(outcome.form),
        ), status
    submission = deposer_soumission(definition, outcome.document)
    return redirect(url_for(".confirmation", form_id=form_id, reference=submission.reference), 303)


@bp.get("/<form_id>/confirmation/<reference>")
def confirmation(form_id: str, reference: str):
    definition = _standalone(form_id)
    submission = db.session.scalar(
        select(Submission).where(Submission.reference == reference, Submission.form_id == form_id)
    )
    if submission is None:
        abort(404)
    return render_template(
        "formulaires/confirmation.html", definition=definition, submission=submission
    )


# -- forms in steps --------------------------------------------------------------------------


def _en_etapes(form_id: str):
    definition = _standalone(form_id)
    if not etapes.en_etapes(definition):
        abort(404)
    return definition


def _brouillon_courant(definition):
    """The draft of this visitor: the signed-in identity's, or the one this browser's
    session holds (anonymous). Another person's draft is never found here."""
    if current_user.is_authenticated:
        return brouillons.brouillon_de(definition.id, current_user.id)
    ids = session.get(SESSION_BROUILLONS) or {}
    return brouillons.brouillon_anonyme(definition.id, ids.get(definition.id))


def _retenir(definition, brouillon) -> None:
    if current_user.is_authenticated:
        return
    ids = dict(session.get(SESSION_BROUILLONS) or {})
    ids[definition.id] = brouillon.id
    session[SESSION_BROUILLONS] = ids


def _oublier(definition) -> None:
    ids = dict(session.get(SESSION_BROUILLONS) or {})
    if ids.pop(definition.id, None) is not None:
        session[SESSION_BROUILLONS] = ids


def _a_jour(definition, brouillon) -> int | None:
    """A draft of an older version is re-checked; the visitor is told why they land where.
    Returns the page to resume at after such a re-check, None otherwise."""
    if brouillon is None:
        return None
    reprise = brouillons.mettre_a_jour_version(definition, brouillon)
    if reprise is not None:
        flash(
            "Le formulaire a été modifié depuis votre dernière visite. Vérifiez vos réponses : "
            "certaines peuvent être à compléter.",
            "info",
        )
    return reprise


def _url_page(definition, numero: int) -> str:
    if numero > len(etapes.etapes(definition)):
        return url_for(".verification", form_id=definition.id)
    return url_for(".etape", form_id=definition.id, numero=numero)


def _url_reprise(definition, brouillon) -> str:
    return _url_page(definition, brouillon.etape)


def _suivante(definition, data: dict, numero: int):
    """The next page shown (a page whose every question is hidden is skipped), or None."""
    for page in etapes.etapes(definition)[numero:]:
        if etapes.etape_visible(definition, page, data):
            return page
    return None


def _precedente(definition, data: dict, numero: int):
    for page in reversed(etapes.etapes(definition)[: numero - 1]):
        if etapes.etape_visible(definition, page, data):
            return page
    return None


def _page_etape(definition, page, form, brouillon, data, summary=None, status=200):
    retour = request.values.get("retour") == RETOUR_VERIFICATION
    return render_template(
        "formulaires/etape.html",
        definition=definition,
        page=page,
        nombre=len(etapes.etapes(definition)),
        suivante=_suivante(definition, data, page.numero),
        precedente=_precedente(definition, data, page.numero),
        form=form,
        summary=summary,
        brouillon=brouillon,
        lien=session.pop(SESSION_LIEN, None),
        retour=retour,
    ), status


def _page_autorisee(definition, numero: int):
    """The page, the draft; or a redirect to where this visitor may be."""
    page = etapes.etape(definition, numero)
    if page is None:
        abort(404)
    brouillon = _brouillon_courant(definition)
    reprise = _a_jour(definition, brouillon)
    if reprise is not None and reprise != numero:
        return page, brouillon, redirect(_url_page(definition, reprise))
    atteinte = brouillon.etape if brouillon is not None else 1
    if numero > atteinte:
        return page, brouillon, redirect(_url_page(definition, atteinte))
    return page, brouillon, None


@bp.get("/<form_id>/etape/<int:numero>")
def etape(form_id: str, numero: int):
    definition = _en_etapes(form_id)
    page, brouillon, ailleurs = _page_autorisee(definition, numero)
    if ailleurs is not None:
        return ailleurs
    data = brouillon.data if brouillon is not None else {}
    form = etapes.new_form(definition, page, data)
    summary = None
    if brouillon is not None and numero < brouillon.etape:
        # A page already passed: show what its answers lack now (a newer version, a change
        # made on another page).
        if etapes.show_errors(definition, page, form, data):
            summary = engine.summary(form)
    return _page_etape(definition, page, form, brouillon, data, summary)


@bp.post("/<form_id>/etape/<int:numero>")
@limiter.limit(_forms_limit, methods=["POST"])
def etape_post(form_id: str, numero: int):
    definition = _en_etapes(form_id)
    page, brouillon, ailleurs = _page_autorisee(definition, numero)
    if ailleurs is not None:
        return ailleurs
    data = brouillon.data if brouillon is not None else {}
    outcome = etapes.submit(
        definition, page, CombinedMultiDict([request.files, request.form]), data
    )
    if outcome.action:
        return _page_etape(definition, page, outcome.form, brouillon, outcome.data)

    navigation = request.form.get("_nav", "suivant")
    if navigation == "precedent":
        # Going back never loses what was typed, even when the page is not complete yet.
        if brouillon is not None:
            brouillons.enregistrer_brouillon(brouillon, outcome.data, brouillon.etape)
        precedente = _precedente(definition, outcome.data, numero)
        cible = precedente.numero if precedente else 1
        return redirect(url_for(".etape", form_id=form_id, numero=cible), 303)

    if not outcome.valid:
        if brouillon is not None:
            brouillons.enregistrer_brouillon(brouillon, outcome.data, brouillon.etape)
        return _page_etape(
            definition,
            page,
            outcome.form,
            brouillon,
            outcome.data,
            engine.summary(outcome.form),
            422,
        )

    suivante = _suivante(definition, outcome.data, numero)
    nombre = len(etapes.etapes(definition))
    prochaine = suivante.numero if suivante else nombre + 1
    if brouillon is None:
        brouillon, jeton = brouillons.creer_brouillon(
            definition,
            outcome.data,
            prochaine,
            current_user.id if current_user.is_authenticated else None,
        )
        _retenir(definition, brouillon)
        if not current_user.is_authenticated:
            session[SESSION_LIEN] = url_for(
                ".reprendre", form_id=form_id, jeton=jeton, _external=True
            )
    else:
        brouillons.enregistrer_brouillon(brouillon, outcome.data, max(brouillon.etape, prochaine))
    if suivante is None or request.form.get("retour") == RETOUR_VERIFICATION:
        return redirect(url_for(".verification", form_id=form_id), 303)
    return redirect(url_for(".etape", form_id=form_id, numero=suivante.numero), 303)


def _brouillon_complet(definition, brouillon=None):
    """The draft, once every page was passed; or a redirect to the page to fill first."""
    brouillon = brouillon or _brouillon_courant(definition)
    if brouillon is None:
        return None, redirect(url_for(".etape", form_id=definition.id, numero=1))
    reprise = _a_jour(definition, brouillon)
    nombre = len(etapes.etapes(definition))
    if reprise is not None and reprise <= nombre:
        return None, redirect(_url_page(definition, reprise))
    if brouillon.etape <= nombre:
        return None, redirect(_url_reprise(definition, brouillon))
    return brouillon, None


def _vers_premiere_erreur(definition, brouillon, numero: int):
    flash("Certaines réponses sont à compléter ou à corriger avant l'envoi.", "error")
    return redirect(url_for(".etape", form_id=definition.id, numero=numero), 303)


@bp.get("/<form_id>/verification")
def verification(form_id: str):
    definition = _en_etapes(form_id)
    brouillon, ailleurs = _brouillon_complet(definition)
    if ailleurs is not None:
        return ailleurs
    document, errors = etapes.document_final(definition, brouillon.data)
    if errors:
        return _vers_premiere_erreur(
            definition, brouillon, etapes.premiere_etape_en_erreur(definition, document)
        )
    groupes = [
        (page, etapes.reponses(definition, page, document))
        for page in etapes.etapes(definition)
        if etapes.etape_visible(definition, page, document)
    ]
    return render_template(
        "formulaires/verification.html",
        definition=definition,
        groupes=groupes,
        brouillon=brouillon,
        lien=session.pop(SESSION_LIEN, None),
    )


@bp.post("/<form_id>/verification")
@limiter.limit(_forms_limit, methods=["POST"])
def envoyer(form_id: str):
    definition = _en_etapes(form_id)
    courant = _brouillon_courant(definition)
    verifie = request.form.get("brouillon", type=int)  # the draft the check page showed
    if verifie is not None and (courant is None or courant.id != verifie):
        if brouillons.brouillon_depose(verifie):
            return _deja_envoye(definition)
        if courant is not None:
            flash("Vos réponses ont changé : vérifiez-les avant l'envoi.", "info")
            return redirect(url_for(".verification", form_id=form_id), 303)
    brouillon, ailleurs = _brouillon_complet(definition, courant)
    if ailleurs is not None:
        return ailleurs
    document, errors = etapes.document_final(definition, brouillon.data)
    if errors:
        # The full validator is the authority: nothing is filed while anything is wrong.
        return _vers_premiere_erreur(
            definition, brouillon, etapes.premiere_etape_en_erreur(definition, document)
        )
    try:
        submission = brouillons.deposer_brouillon(definition, brouillon.id, document)
    except brouillons.BrouillonDejaDepose:
        return _deja_envoye(definition)  # another request filed it first
    _oublier(definition)
    return redirect(url_for(".confirmation", form_id=form_id, reference=submission.reference), 303)


def _deja_envoye(definition):
    _oublier(definition)
    flash("Votre demande a déjà été envoyée.", "info")
    return redirect(url_for(".show", form_id=definition.id), 303)


def _brouillon_du_lien(form_id: str, jeton: str):
    """The anonymous draft a private link designates; or the redirect to the visitor's own
    draft (a signed-in identity's draft is resumed by that identity only); else 404."""
    definition = _en_etapes(form_id)
    brouillon = brouillons.brouillon_par_jeton(form_id, jeton)
    if brouillon is None:
        abort(404)
    if brouillon.utilisateur_id is not None:
        if not current_user.is_authenticated or current_user.id != brouillon.utilisateur_id:
            abort(404)
        return definition, None, redirect(_url_reprise(definition, brouillon), 303)
    return definition, brouillon, None


@bp.get("/<form_id>/reprendre/<jeton>")
def reprendre(form_id: str, jeton: str):
    """The private link of a draft. Changes nothing in the database: an anonymous browser
    without another draft of the form remembers it in its session; otherwise the visitor is
    asked first (a link opened unknowingly must not hand anyone someone else's draft)."""
    definition, brouillon, ailleurs = _brouillon_du_lien(form_id, jeton)
    if ailleurs is not None:
        return ailleurs
    actuel = _brouillon_courant(definition)
    if actuel is not None and actuel.id == brouillon.id:
        return redirect(_url_reprise(definition, brouillon), 303)
    if actuel is None and not current_user.is_authenticated:
        _retenir(definition, brouillon)  # this browser's session only
        return redirect(_url_reprise(definition, brouillon), 303)
    return render_template(
        "formulaires/reprendre.html",
        definition=definition,
        brouillon=brouillon,
        actuel=actuel,
        jeton=jeton,
    )


@bp.post("/<form_id>/reprendre/<jeton>")
@limiter.limit(_forms_limit, methods=["POST"])
def reprendre_post(form_id: str, jeton: str):
    """« Reprendre ce brouillon »: the visitor chose the draft of the link over hers."""
    definition, brouillon, ailleurs = _brouillon_du_lien(form_id, jeton)
    if ailleurs is not None:
        return ailleurs
    remplace = request.form.get("remplace", type=int)
    if not current_user.is_authenticated:
        # Her current draft stays reachable with its own private link.
        _retenir(definition, brouillon)
        return redirect(_url_reprise(definition, brouillon), 303)
    try:
        brouillon = brouillons.rattacher(
            brouillon.id, current_user.id, remplace, Acteur("usager", current_user.identifiant)
        )
    except brouillons.ChoixPerime:
        flash("Vos brouillons ont changé entre-temps : vérifiez votre choix.", "info")
        return redirect(url_for(".reprendre", form_id=form_id, jeton=jeton), 303)
    except brouillons.BrouillonIndisponible:
        abort(404)
    flash("Le brouillon a été repris dans votre espace.", "success")
    return redirect(_url_reprise(definition, brouillon), 303)


@bp.post("/<form_id>/recommencer")
@limiter.limit(_forms_limit, methods=["POST"])
def recommencer(form_id: str):
    """Delete this visitor's draft and start again from the first page."""
    definition = _en_etapes(form_id)
    brouillon = _brouillon_courant(definition)
    if brouillon is not None:
        brouillons.supprimer_brouillon(brouillon.id)
    _oublier(definition)
    return redirect(url_for(".etape", form_id=form_id, numero=1), 303)


@bp.cli.command("purger-brouillons")
def purger_brouillons_command():
    """Supprime les brouillons de formulaires expirés (à lancer chaque jour)."""
    count = brouillons.purger_brouillons_expires()
    click.echo(f"{count} brouillon(s) expiré(s) supprimé(s).")
