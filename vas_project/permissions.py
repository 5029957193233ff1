from rest_framework import permissions


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django's model permissions, with reading requiring the view permission."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }
