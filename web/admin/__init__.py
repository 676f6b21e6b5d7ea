"""/admin, the owner's page: sign-in, the signed session, the status it shows, its actions."""
