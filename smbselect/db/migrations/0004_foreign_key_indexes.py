from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_rate_limit')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Application',
            index=Index(fields=['location_id', 'program_id']),
        ),
        ops.AddIndex(
            model_name='ApplicationEvent',
            index=Index(fields=['application_id', 'occurred_at']),
        ),
        ops.AddIndex(
            model_name='Document',
            index=Index(fields=['application_id']),
        ),
        ops.AddIndex(
            model_name='InvitationApplication',
            index=Index(fields=['application_id']),
        ),
        ops.AddIndex(
            model_name='InvitationLink',
            index=Index(fields=['user_id']),
        ),
        ops.AddIndex(
            model_name='LocationMember',
            index=Index(fields=['user_id']),
        ),
        ops.AddIndex(
            model_name='LocationStaff',
            index=Index(fields=['user_id']),
        ),
        ops.AddIndex(
            model_name='TermsAcceptance',
            index=Index(fields=['application_id']),
        ),
    ]
