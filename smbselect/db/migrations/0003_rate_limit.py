from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_event_observed_at')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RateLimit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=255)),
                ('window_start', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('count', fields.IntField(default=0)),
            ],
            options={'table': 'rate_limit', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Attempts counted per key in a fixed window that starts with the first attempt.'},
            bases=['Model'],
        ),
    ]
