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
