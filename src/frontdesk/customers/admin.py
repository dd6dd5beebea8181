from django.contrib import admin

from .models import ContactPoint, Customer, Organization


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "organization", "plan", "created_at"]
    search_fields = ["name", "contact_points__value"]
    inlines = [ContactPointInline]
    raw_id_fields = ["organization", "merged_into"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "plan"]
    search_fields = ["name"]
