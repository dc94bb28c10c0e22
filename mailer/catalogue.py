"""Catalogue of the notification mails: one entry per template in ``templates/mail/``.

Each template ``T`` has three files: ``T.subject.txt`` (one line), ``T.txt`` (plain text body)
and ``T.html`` (HTML body, autoescaped). ``context`` lists the keys the caller must provide;
the renderer adds the globals ``site_name``, ``support_email`` and ``site_url``. Values are
plain JSON values; dates are ISO strings (``AAAA-MM-JJ``) formatted by the ``date_fr`` filter,
date-times ISO strings formatted by ``datetime_fr``. ``nom``/``prenom``, when present, give the
greeting "Bonjour Prénom Nom," instead of "Madame, Monsieur,".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MailTemplate:
    name: str
    description: str  # French, for staff
    context: tuple[str, ...]  # required context keys


_ETABLISSEMENT = ("siret", "denomination")
_PERSONNE = ("nom", "prenom")

_ENTRIES = (
    # Account creation (domain.md §2.3): identifiant, then password link, then habilitation.
    MailTemplate(
        "identifiant",
        "Identifiant de connexion envoyé après validation de la demande de compte (1er courriel)",
        (*_PERSONNE, "identifiant", *_ETABLISSEMENT),
    ),
    MailTemplate(
        "mot_de_passe",
        "Lien à usage unique pour choisir son mot de passe (2e courriel, ou mot de passe oublié)",
        (*_PERSONNE, "lien", "expiration"),
    ),
    MailTemplate(
        "habilitation",
        "Habilitation à l'activité partielle pour un établissement (3e courriel, sans identifiants)",
        (*_PERSONNE, *_ETABLISSEMENT),
    ),
    MailTemplate(
        "identifiants_oublies",
        "« J'ai oublié mon identifiant » : chaque identifiant de l'adresse, avec ses établissements",
        # comptes: [{identifiant, nom, prenom, etablissements: [{siret, denomination}]}]
        ("comptes",),
    ),
    MailTemplate(
        "demande_compte_rejetee",
        "Rejet motivé d'une demande de création de compte",
        (*_PERSONNE, "siret", "motif"),
    ),
    # Establishment users (domain.md §2.2).
    MailTemplate(
        "referent_change_ancien",
        "Changement de personne référente, adressé à l'ancienne personne référente",
        (*_PERSONNE, *_ETABLISSEMENT, "nouveau_referent"),
    ),
    MailTemplate(
        "referent_change_nouveau",
        "Changement de personne référente, adressé à la nouvelle personne référente",
        (*_PERSONNE, *_ETABLISSEMENT),
    ),
    MailTemplate(
        "utilisateur_ajoute",
        "Ajout d'un utilisateur à un établissement par un utilisateur existant",
        (*_PERSONNE, *_ETABLISSEMENT, "ajoute_par"),
    ),
    MailTemplate(
        "habilitation_retiree",
        "Retrait de l'accès d'un utilisateur à un établissement par la personne référente",
        (*_PERSONNE, *_ETABLISSEMENT, "retire_par"),
    ),
    # The same events when an agent of the back-office acts: the mail reads as from the ASP.
    MailTemplate(
        "referent_reaffecte_ancien",
        "Personne référente changée par l'administration, adressé à l'ancienne personne référente",
        (*_PERSONNE, *_ETABLISSEMENT, "nouveau_referent"),
    ),
    MailTemplate(
        "referent_reaffecte_nouveau",
        "Personne référente désignée par l'administration, adressé à la nouvelle",
        (*_PERSONNE, *_ETABLISSEMENT),
    ),
    MailTemplate(
        "identifiant_rappel",
        "Rappel de son identifiant à une identité, envoyé par un agent du back-office",
        (*_PERSONNE, "identifiant", *_ETABLISSEMENT),
    ),
    MailTemplate(
        "mot_de_passe_nouveau_lien",
        "Nouveau lien pour choisir son mot de passe, envoyé par un agent du back-office",
        (*_PERSONNE, "lien", "expiration"),
    ),
    # Demande d'autorisation préalable (domain.md §3.3-3.6).
    MailTemplate(
        "dap_deposee",
        "Accusé de réception d'une DAP (instruction en cours, date d'acceptation implicite)",
        (
            *_ETABLISSEMENT,
            "numero_dap",
            "date_depot",
            "date_acceptation_implicite",
            "delai_jours",
        ),
    ),
    MailTemplate(
        "dap_acceptee",
        "Décision d'autorisation d'une DAP (période et heures autorisées)",
        (*_ETABLISSEMENT, "numero_dap", "periode_debut", "periode_fin", "heures_autorisees"),
    ),
    MailTemplate(
        "dap_refusee",
        "Décision de refus motivé d'une DAP",
        (*_ETABLISSEMENT, "numero_dap", "motif"),
    ),
    MailTemplate(
        "dap_invalidee",
        "Invalidation d'une DAP : liste des éléments à compléter",
        (*_ETABLISSEMENT, "numero_dap", "elements_a_completer"),
    ),
    MailTemplate(
        "dap_acceptee_implicitement",
        "Acceptation implicite d'une DAP faute de décision dans le délai d'instruction",
        (*_ETABLISSEMENT, "numero_dap", "date_acceptation"),
    ),
    MailTemplate(
        "rappel_avis_cse",
        "Rappel : avis du CSE à transmettre avant la date limite (deux mois après le dépôt)",
        (*_ETABLISSEMENT, "numero_dap", "date_limite"),
    ),
    # Demande d'indemnisation (domain.md §4).
    MailTemplate(
        "di_deposee",
        "Accusé de réception d'une demande d'indemnisation mensuelle",
        (*_ETABLISSEMENT, "numero_di", "mois"),
    ),
    MailTemplate(
        "di_validee",
        "Validation d'une demande d'indemnisation (montant validé)",
        (*_ETABLISSEMENT, "numero_di", "montant"),
    ),
    MailTemplate(
        "di_payee",
        "Paiement d'une demande d'indemnisation par l'ASP (montant et date)",
        (*_ETABLISSEMENT, "numero_di", "montant", "date_paiement"),
    ),
    # Support and operations.
    MailTemplate(
        "assistance_recue",
        "Accusé de réception d'une demande d'assistance, avec sa référence",
        ("reference",),
    ),
    MailTemplate(
        "soumission_recue",
        "Accusé de réception d'une réponse à un formulaire autonome (titre et référence)",
        ("reference", "titre_formulaire"),
    ),
    MailTemplate(
        "reponse_support",
        "Réponse du support technique à une demande d'assistance",
        ("reference", "message"),
    ),
    MailTemplate(
        "test",
        "Message de test pour vérifier la configuration SMTP (flask mailer send-test)",
        (),
    ),
)

TEMPLATES: dict[str, MailTemplate] = {entry.name: entry for entry in _ENTRIES}


# --- placeholders of the templates edited in the back-office (mailer.modeles) -----------------


@dataclass(frozen=True)
class Variable:
    """A value a mail can show: ``{{ nom }}`` in an edited template.

    ``genre`` says how the value is shown (``mailer.modeles.afficher``): ``texte`` as is,
    ``date`` « 16 mars 2026 », ``datetime`` « 16 mars 2026 à 14h30 », ``mois`` « avril 2026 »,
    ``nombre`` « 1 607 », ``jours`` « 15 jours », ``multiligne`` a block of lines, ``liste`` a
    bulleted list, ``comptes`` the block of the forgotten-identifiant mail, ``lien`` an address
    of the service (the only values made links in the HTML part: an address typed by a user
    in another value stays text). ``exemple`` is the value of the preview.
    """

    nom: str
    description: str  # French, for staff
    exemple: object
    genre: str = "texte"
    vide: str = ""  # shown for an empty list


_VARIABLES = (
    Variable("nom", "Nom de la personne destinataire", "GERARD"),
    Variable("prenom", "Prénom de la personne destinataire", "Mathilde"),
    Variable("identifiant", "Identifiant de connexion", "AP0012345"),
    Variable("siret", "SIRET de l'établissement (14 chiffres)", "00578096000042"),
    Variable("denomination", "Dénomination de l'établissement", "SOCIETE IMMOBILIERE TOURISTIQUE"),
    Variable(
        "lien",
        "Lien personnel à usage unique pour choisir le mot de passe",
        "http://127.0.0.1:5000/mot-de-passe/jeton-a-usage-unique",
        "lien",
    ),
    Variable(
        "expiration", "Date et heure de fin de validité du lien", "2026-03-16T14:30:00", "datetime"
    ),
    Variable(
        "motif",
        "Motif saisi par l'agent (plusieurs lignes possibles)",
        "Le SIRET ne correspond pas à la dénomination.\nMerci de vérifier votre saisie.",
        "multiligne",
    ),
    Variable("nouveau_referent", "Prénom et nom de la nouvelle personne référente", "Paul DURAND"),
    Variable("ajoute_par", "Prénom et nom de l'utilisateur qui a ajouté l'accès", "Paul DURAND"),
    Variable("retire_par", "Prénom et nom de la personne qui a retiré l'accès", "Paul DURAND"),
    Variable("numero_dap", "Numéro de la demande d'autorisation préalable", "06320000123"),
    Variable("date_depot", "Date de dépôt de la demande", "2026-03-16", "date"),
    Variable(
        "date_acceptation_implicite",
        "Date à laquelle la demande sera réputée acceptée",
        "2026-03-31",
        "date",
    ),
    Variable("delai_jours", "Délai d'instruction (par exemple « 15 jours »)", 15, "jours"),
    Variable("periode_debut", "Premier jour de la période autorisée", "2026-03-16", "date"),
    Variable("periode_fin", "Dernier jour de la période autorisée", "2026-09-15", "date"),
    Variable("heures_autorisees", "Nombre d'heures autorisées", 1607, "nombre"),
    Variable(
        "elements_a_completer",
        "Liste à puces des éléments à compléter ou à corriger",
        ["Motif de recours", "Avis du CSE"],
        "liste",
        "- se reporter au détail de la demande dans votre espace",
    ),
    Variable("date_acceptation", "Date de l'acceptation implicite", "2026-03-31", "date"),
    Variable("date_limite", "Date limite de transmission de l'avis du CSE", "2026-05-16", "date"),
    Variable("numero_di", "Numéro de la demande d'indemnisation", "0632000012301"),
    Variable(
        "mois", "Mois de la demande d'indemnisation (par exemple « avril 2026 »)", "2026-04", "mois"
    ),
    Variable("montant", "Montant en euros (par exemple « 1 234,56 € »)", "1 234,56 €"),
    Variable("date_paiement", "Date du paiement", "2026-05-12", "date"),
    Variable("reference", "Référence de la demande d'assistance", "SUP-2026-000042"),
    Variable("titre_formulaire", "Titre du formulaire", "Inscription à un atelier d'information"),
    Variable(
        "message",
        "Réponse du support (plusieurs lignes possibles)",
        "Bonjour,\nVotre compte a été débloqué.\n\nCordialement",
        "multiligne",
    ),
    Variable(
        "comptes",
        "Chaque identifiant de l'adresse, avec ses établissements (bloc de plusieurs lignes)",
        [
            {
                "identifiant": "mgerard",
                "nom": "GERARD",
                "prenom": "Mathilde",
                "etablissements": [
                    {"siret": "00578096000042", "denomination": "SOCIETE IMMOBILIERE TOURISTIQUE"},
                    {"siret": "73282932000074", "denomination": "CAFE DU PORT"},
                ],
            },
            {"identifiant": "pdurand", "nom": "DURAND", "prenom": "Paul", "etablissements": []},
        ],
        "comptes",
    ),
)
# Added by the renderer to every mail (settings SITE_NAME, SUPPORT_EMAIL, SITE_URL).
GLOBALES = (
    Variable("site_name", "Nom du service", "Activité partielle"),
    Variable(
        "support_email", "Adresse du support technique", "support@activite-partielle.localhost"
    ),
    Variable("site_url", "Adresse du site (sans / final)", "http://127.0.0.1:5000", "lien"),
)
VARIABLES: dict[str, Variable] = {variable.nom: variable for variable in _VARIABLES}


def variables_de(template: str) -> list[Variable]:
    """The placeholders an edited version of ``template`` may use: its context, then globals."""
    return [VARIABLES[nom] for nom in TEMPLATES[template].context] + list(GLOBALES)
