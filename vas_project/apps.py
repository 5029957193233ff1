from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "vas_project.admin.AdminSite"

    def ready(self) -> None:
        super().ready()  # every app's admin registered
        # The JWT blacklist's pages list every user's tokens, with which one could act as them.
        from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

        from vas_project.admin import only_for_superusers

        only_for_superusers(OutstandingToken, BlacklistedToken)
