from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_queue_indexes')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='EmailMessage',
            index=Index(fields=['application_id', 'id']),
        ),
        ops.AddIndex(
            model_name='EmailMessage',
            index=Index(fields=['invitation_id', 'id']),
        ),
    ]
