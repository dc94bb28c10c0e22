"""GET /referentiels/communes: the communes of a postal code, for the address fields."""


def test_the_communes_of_a_postal_code_are_listed_and_cacheable(client):
    response = client.get("/referentiels/communes?code_postal=44500")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert response.get_json() == [
        {"nom": "LA BAULE ESCOUBLAC", "nom_usuel": "La Baule-Escoublac", "code_insee": "44055"}
    ]


def test_a_postal_code_of_several_communes_lists_them_all_sorted(client):
    data = client.get("/referentiels/communes?code_postal=54490").get_json()

    assert len(data) == 7
    assert [item["nom"] for item in data] == sorted(item["nom"] for item in data)


def test_an_overseas_postal_code_is_served(client):
    data = client.get("/referentiels/communes?code_postal=97100").get_json()
    assert data == [{"nom": "BASSE TERRE", "nom_usuel": "Basse-Terre", "code_insee": "97105"}]


def test_an_unknown_postal_code_gives_an_empty_list(client):
    response = client.get("/referentiels/communes?code_postal=00000")

    assert response.status_code == 200
    assert response.get_json() == []


def test_a_malformed_postal_code_is_refused_with_a_french_message(client):
    for query in ("?code_postal=4450", "?code_postal=44 500", "?code_postal=ABCDE", ""):
        response = client.get("/referentiels/communes" + query)

        assert response.status_code == 400, query
        assert response.is_json
        assert "5 chiffres" in response.get_json()["erreur"]
