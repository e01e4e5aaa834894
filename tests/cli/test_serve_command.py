"""`governor serve` will not listen beyond this machine while nobody can sign in."""


def test_a_public_address_is_refused_while_no_user_exists(migrated, cli):
    result = cli("serve", "--host", "0.0.0.0")
    assert result.exit_code == 2
    assert "Refusing to serve on 0.0.0.0: nobody can sign in yet" in result.output
    assert "governor users create NAME" in result.output
