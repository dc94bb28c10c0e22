"""The back-office views, registered on the Admin by ``init_admin``.

A new module of views (the account-request queue, establishments, the journal...) adds one
``init_admin(admin)`` of its own and one line below; its views derive from
``backoffice.securite.VueAgent`` or ``VueModeleAgent``, and it may add dashboard tiles with
``admin.index_view.ajouter_tuile``.
"""


def init_admin(admin) -> None:
    from backoffice.vues import agents

    agents.init_admin(admin)
    from backoffice.vues import demandes  # account-request queue

    demandes.init_admin(admin)
    from backoffice.vues import assistance, journal, taches  # support queue, journal, jobs

    for module in (assistance, journal, taches):
        module.init_admin(admin)
    from backoffice.vues import etablissements  # établissements, utilisateurs, habilitations

    etablissements.init_admin(admin)
    from backoffice.vues import modeles_courriel  # notification mails edited by administrators

    modeles_courriel.init_admin(admin)
    from backoffice.vues import soumissions  # submissions of the standalone forms

    soumissions.init_admin(admin)
    from backoffice.vues import formulaires  # the form definitions' editor (issue #7 item 2)

    formulaires.init_admin(admin)
    from backoffice.vues import formulaires_publication  # preview, publish, versions

    formulaires_publication.init_admin(admin)
    from backoffice.vues import mon_compte  # the agent's own password

    mon_compte.init_admin(admin)
