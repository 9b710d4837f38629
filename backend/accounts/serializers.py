from rest_framework import serializers

from backend.accounts.models import AccountDetails, Profile, User
from backend.common.input import HTTPS_PUBLIC_URL_PATTERN, InputSerializer
from backend.common.money import Currency


class RegisterInputSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    display_name = serializers.CharField(max_length=80, required=False, allow_blank=True)


class TokenObtainInputSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "is_staff", "date_joined"]
        read_only_fields = fields


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    user = UserOutputSerializer()


class ProfileOutputSerializer(serializers.ModelSerializer):
    """Public profile. ``rating_average`` is null until the user has a review."""

    user_id = serializers.IntegerField(read_only=True)
    rating_average = serializers.DecimalField(max_digits=3, decimal_places=2, read_only=True, allow_null=True)
    rating_count = serializers.IntegerField(read_only=True)
    # Not a URLField: a profile without an avatar has an empty string, which is no URL.
    avatar_url = serializers.CharField(read_only=True, help_text="An https URL, or empty when there is no avatar.")

    class Meta:
        model = Profile
        fields = [
            "user_id",
            "display_name",
            "headline",
            "bio",
            "skills",
            "city",
            "hourly_rate",
            "avatar_url",
            "rating_average",
            "rating_count",
            "updated_at",
        ]
        read_only_fields = fields


class ProfileUpdateInputSerializer(InputSerializer):
    display_name = serializers.CharField(max_length=80, required=False)
    headline = serializers.CharField(max_length=140, required=False, allow_blank=True)
    bio = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    skills = serializers.ListField(
        child=serializers.CharField(max_length=50), max_length=30, required=False, allow_empty=True
    )
    city = serializers.CharField(max_length=80, required=False, allow_blank=True)
    hourly_rate = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0, required=False, allow_null=True)
    avatar_url = serializers.RegexField(
        HTTPS_PUBLIC_URL_PATTERN,
        max_length=500,
        required=False,
        allow_blank=True,
        error_messages={"invalid": "Enter an https URL to a public host name."},
        help_text=(
            "An https URL to a public host name (an IDN host in its xn-- form; no IP address, no `localhost`, "
            "`.local`, `.internal` or other special-use name), or empty for none."
        ),
    )


class AccountDetailsOutputSerializer(serializers.ModelSerializer):
    """Private account details; balances are derived from succeeded payments.

    ``balance`` is ``total_earned - total_paid``. ``account_number`` is whole for its owner and
    masked (all but the last four digits) for anyone else allowed to see it (staff).
    """

    user_id = serializers.IntegerField(read_only=True)
    account_number = serializers.SerializerMethodField()
    # No max_digits: a sum of any number of payments (backend.accounts.selectors).
    total_earned = serializers.DecimalField(max_digits=None, decimal_places=2, read_only=True)
    total_paid = serializers.DecimalField(max_digits=None, decimal_places=2, read_only=True)
    balance = serializers.DecimalField(max_digits=None, decimal_places=2, read_only=True)

    class Meta:
        model = AccountDetails
        fields = [
            "user_id",
            "bank_name",
            "account_holder",
            "account_number",
            "currency",
            "total_earned",
            "total_paid",
            "balance",
            "updated_at",
        ]
        read_only_fields = fields

    def get_account_number(self, obj: AccountDetails) -> str:
        if self.context.get("owner_view"):
            return obj.account_number
        return obj.masked_account_number


class AccountDetailsUpdateInputSerializer(InputSerializer):
    bank_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    account_holder = serializers.CharField(max_length=120, required=False, allow_blank=True)
    account_number = serializers.RegexField(
        r"^[A-Za-z0-9]{4,34}$", required=False, allow_blank=True, help_text="4 to 34 letters or digits (IBAN-sized)."
    )
    currency = serializers.ChoiceField(Currency.choices, required=False, help_text="A supported ISO 4217 code.")
